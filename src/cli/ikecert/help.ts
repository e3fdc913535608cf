/** `-h` text of each ikecert subcommand. */
export const HELP: Readonly<Record<"certlocal" | "certdb" | "certrldb", string>> = {
  certlocal: `ikecert certlocal: private keys in etc/inet/secret/ike.privatekeys
  -ks -m keysize -t keytype -D dname [-A altname]... [-S start] [-F end] [-f pem|ber] [[-p] -T token]
        generate a key and a self-signed certificate (added to certdb, printed)
  -kc -m keysize -t keytype -D dname [-A altname]... [-S start] [-F end] [[-p] -T token]
        generate a key and print a PKCS#10 certificate request
  -l [-v] [slot]          list private keys (-v prints them: sensitive)
  -e [-f pkcs8|pem] slot  export a private key (PKCS#8, binary by default: sensitive)
  -e -f pkcs12 slot       export the key and its certificate as PKCS#12 (RSA; extension)
  -a                      add a private key (PKCS#8 or PKCS#1, DER or PEM) from standard input
  -a -f pkcs12            add the key and certificates of a PKCS#12 file (extension)
  -r slot                 remove a private key (on a token: its key objects too)
  -U slot -T token        forget a key on a token (the token keeps it)
  -C certspec -T token    copy a key, its public key and certificate to a token
  -L pattern -T token     name a key already on a token (pattern: certspec or key label)
  -T token                the PKCS#11 token (label) of pkcs11_path's library that keeps the key
  -p                      with -T: store the token PIN in the key's slot (root-only file)
  -P file                 read the token PIN or PKCS#12 password from file (extension)
  keysize: RSA 1024 2048 3072 4096, DSA 1024 2048 3072
  keytype: rsa-sha1 rsa-md5 rsa-sha256 rsa-sha384 rsa-sha512 dsa-sha1 dsa-sha256
  altname: IP=addr DNS=name EMAIL=addr URI=uri DN=dname RID=oid
  start/end: +|- N s m h d w M y (e.g. +3d12h, -1y), MM/DD/YYYY [HH:MM:SS] or YYYY-MM-DD
`,
  certdb: `ikecert certdb: certificates in etc/inet/ike/publickeys
  -a [[-p] -T token]          add a certificate (PEM or DER) from standard input (and to a token)
  -e [-f pem|ber] certspec    print the first matching certificate
  -l [-v] [certspec]          list certificates
  -r certspec                 remove the first matching certificate (its private key is kept;
                              on a token its certificate and public key objects go too)
  -U slot -T token            forget a certificate on a token (the token keeps it)
  -C certspec -T token        copy a certificate and its public key to a token
  -L certspec -T token        add the token's certificates that match
  -P file                     read the token PIN from file (extension)
  certspec terms: a DN, SUBJECT=dn ISSUER=dn SLOT=n IP= DNS= EMAIL= URI= DN=, !term to exclude
`,
  certrldb: `ikecert certrldb: CRLs in etc/inet/ike/crls
  -a                          add a CRL (PEM or DER) from standard input
  -e [-f pem|ber] certspec    print the first CRL whose issuer matches
  -l [-v] [certspec]          list CRLs and the certificates they cover
  -r certspec                 remove the first matching CRL
`,
};
