/** `-h` text of each ikecert subcommand. */
export const HELP: Readonly<Record<"certlocal" | "certdb" | "certrldb", string>> = {
  certlocal: `ikecert certlocal: private keys in etc/inet/secret/ike.privatekeys
  -ks -m keysize -t keytype -D dname [-A altname]... [-S start] [-F end] [-f pem|ber]
        generate a key and a self-signed certificate (added to certdb, printed)
  -kc -m keysize -t keytype -D dname [-A altname]... 
        generate a key and print a PKCS#10 certificate request
  -l [-v] [slot]          list private keys (-v prints them: sensitive)
  -e [-f pkcs8|pem] slot  export a private key (PKCS#8, binary by default: sensitive)
  -a                      add a private key (PKCS#8 or PKCS#1, DER or PEM) from standard input
  -r slot                 remove a private key
  keysize: RSA 1024 2048 3072 4096, DSA 1024 2048 3072
  keytype: rsa-sha1 rsa-md5 rsa-sha256 rsa-sha384 rsa-sha512 dsa-sha1 dsa-sha256
  altname: IP=addr DNS=name EMAIL=addr URI=uri DN=dname RID=oid
  start/end: +|- N s m h d w M y (e.g. +3d12h, -1y), MM/DD/YYYY [HH:MM:SS] or YYYY-MM-DD
`,
  certdb: `ikecert certdb: certificates in etc/inet/ike/publickeys
  -a                          add a certificate (PEM or DER) from standard input
  -e [-f pem|ber] certspec    print the first matching certificate
  -l [-v] [certspec]          list certificates
  -r certspec                 remove the first matching certificate (its private key is kept)
  certspec terms: a DN, SUBJECT=dn ISSUER=dn SLOT=n IP= DNS= EMAIL= URI= DN=, !term to exclude
`,
  certrldb: `ikecert certrldb: CRLs in etc/inet/ike/crls
  -a                          add a CRL (PEM or DER) from standard input
  -e [-f pem|ber] certspec    print the first CRL whose issuer matches
  -l [-v] [certspec]          list CRLs and the certificates they cover
  -r certspec                 remove the first matching CRL
`,
};
