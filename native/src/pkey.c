/*
 * Public-key operations Node.js 20 lacks, for IKEv1 authentication (RFC 2409 §5.1, §5.2, §5.3):
 *
 *  - DSS signatures over a raw 20-byte SHA-1 HASH_I/HASH_R (RFC 2409 §5.1: the hash is signed
 *    directly, output r|s). node:crypto always digests before a DSA signature.
 *  - RSA PKCS#1 v1.5 type-2 decryption (auth methods 4 and 5 encrypt nonces and IDs). Node 20 refuses
 *    RSA_PKCS1_PADDING private decryption because of the Marvin attack; this does it with implicit
 *    rejection, because Node's OpenSSL (3.0) predates OpenSSL 3.2's built-in version.
 *
 * Keys arrive as DER (PKCS#8 or SubjectPublicKeyInfo) and become a type-tagged external holding an
 * EVP_PKEY, freed by the garbage collector. Nothing here keeps global state, so the module is safe to
 * load in several worker threads at once.
 */
#include <node_api.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/dsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/crypto.h>
#include "pkey.h"

static const napi_type_tag kKeyTag = {0x1ced6b1e5a4c4e21ULL, 0x9d0a7f3b2c615e08ULL};

static void FreeKey(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  EVP_PKEY_free((EVP_PKEY *)data);
}

/* Reads a Buffer/TypedArray argument. */
int IkedGetBytes(napi_env env, napi_value v, const unsigned char **data, size_t *len) {
  bool is;
  if (napi_is_buffer(env, v, &is) == napi_ok && is) {
    void *p;
    if (napi_get_buffer_info(env, v, &p, len) != napi_ok) return 0;
    *data = p;
    return 1;
  }
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t n, offset;
    void *p;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &type, &n, &p, &ab, &offset) != napi_ok) return 0;
    if (type != napi_uint8_array) return 0;
    *data = p;
    *len = n;
    return 1;
  }
  return 0;
}

EVP_PKEY *IkedGetKey(napi_env env, napi_value v) {
  bool ok = false;
  void *data = NULL;
  napi_valuetype type;
  /* Check the type first: the tag check on a non-object would leave a pending TypeError. */
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external) return NULL;
  if (napi_check_object_type_tag(env, v, &kKeyTag, &ok) != napi_ok || !ok) return NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  return (EVP_PKEY *)data;
}

static napi_value WrapKey(napi_env env, EVP_PKEY *pkey) {
  napi_value ext;
  if (napi_create_external(env, pkey, FreeKey, NULL, &ext) != napi_ok) {
    EVP_PKEY_free(pkey);
    return NULL;
  }
  napi_type_tag_object(env, ext, &kKeyTag);
  return ext;
}

static napi_value NewBuffer(napi_env env, const unsigned char *src, size_t len) {
  napi_value out;
  void *dst;
  if (napi_create_buffer(env, len, &dst, &out) != napi_ok) return NULL;
  if (len) memcpy(dst, src, len);
  return out;
}

/* loadPrivateKey(der): PKCS#8 (or traditional) DER -> key handle. */
napi_value LoadPrivateKey(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  const unsigned char *der;
  size_t len;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  THROW_IF(argc < 1 || !IkedGetBytes(env, argv[0], &der, &len), "IKE_ERR_NATIVE_ARG", "loadPrivateKey(der: Buffer)");
  const unsigned char *p = der;
  EVP_PKEY *pkey = d2i_AutoPrivateKey(NULL, &p, (long)len);
  THROW_IF(pkey == NULL, "IKE_ERR_KEY_DECODE", "private key DER does not decode");
  return WrapKey(env, pkey);
}

/* loadPublicKey(der): SubjectPublicKeyInfo DER -> key handle. */
napi_value LoadPublicKey(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  const unsigned char *der;
  size_t len;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  THROW_IF(argc < 1 || !IkedGetBytes(env, argv[0], &der, &len), "IKE_ERR_NATIVE_ARG", "loadPublicKey(der: Buffer)");
  const unsigned char *p = der;
  EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
  THROW_IF(pkey == NULL, "IKE_ERR_KEY_DECODE", "public key DER does not decode");
  return WrapKey(env, pkey);
}

/* Length in bytes of the DSA subgroup order q: r and s are each padded to it. */
static int DsaQBytes(EVP_PKEY *pkey) {
  BIGNUM *q = NULL;
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_DSA || !EVP_PKEY_get_bn_param(pkey, "q", &q)) return 0;
  int n = BN_num_bytes(q);
  BN_free(q);
  return n;
}

/* dsaSign(key, digest): DSA over the digest bytes as given (no hashing); returns r|s. */
napi_value DsaSign(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  const unsigned char *dgst;
  size_t dlen;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  EVP_PKEY *pkey = argc >= 2 ? IkedGetKey(env, argv[0]) : NULL;
  THROW_IF(pkey == NULL || !IkedGetBytes(env, argv[1], &dgst, &dlen), "IKE_ERR_NATIVE_ARG", "dsaSign(key, digest)");
  int qlen = DsaQBytes(pkey);
  THROW_IF(qlen == 0, "IKE_ERR_KEY_TYPE", "dsaSign needs a DSA private key");

  unsigned char der[256];
  size_t derlen = sizeof(der);
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
  /* No signature digest is set, so OpenSSL signs the bytes as the message representative. */
  int ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_sign(ctx, der, &derlen, dgst, dlen) == 1;
  EVP_PKEY_CTX_free(ctx);
  THROW_IF(!ok, "IKE_ERR_SIGN", "DSA signing failed");

  const unsigned char *p = der;
  DSA_SIG *sig = d2i_DSA_SIG(NULL, &p, (long)derlen);
  THROW_IF(sig == NULL, "IKE_ERR_SIGN", "DSA signature does not decode");
  const BIGNUM *r, *s;
  DSA_SIG_get0(sig, &r, &s);
  unsigned char rs[2 * 64];
  ok = 2 * qlen <= (int)sizeof(rs) && BN_bn2binpad(r, rs, qlen) == qlen && BN_bn2binpad(s, rs + qlen, qlen) == qlen;
  DSA_SIG_free(sig);
  THROW_IF(!ok, "IKE_ERR_SIGN", "DSA signature too long");
  return NewBuffer(env, rs, (size_t)(2 * qlen));
}

/* dsaVerify(key, digest, rs): true when r|s is a valid DSA signature over the raw digest. */
napi_value DsaVerify(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  const unsigned char *dgst, *rs;
  size_t dlen, rslen;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  EVP_PKEY *pkey = argc >= 3 ? IkedGetKey(env, argv[0]) : NULL;
  THROW_IF(pkey == NULL || !IkedGetBytes(env, argv[1], &dgst, &dlen) || !IkedGetBytes(env, argv[2], &rs, &rslen),
           "IKE_ERR_NATIVE_ARG", "dsaVerify(key, digest, rs)");
  int qlen = DsaQBytes(pkey);
  THROW_IF(qlen == 0, "IKE_ERR_KEY_TYPE", "dsaVerify needs a DSA key");

  int valid = 0;
  if (rslen == (size_t)(2 * qlen)) {
    DSA_SIG *sig = DSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, qlen, NULL);
    BIGNUM *s = BN_bin2bn(rs + qlen, qlen, NULL);
    unsigned char *der = NULL;
    int derlen = -1;
    if (sig && r && s && DSA_SIG_set0(sig, r, s) == 1) {
      r = s = NULL; /* owned by sig now */
      derlen = i2d_DSA_SIG(sig, &der);
    }
    if (derlen > 0) {
      EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
      valid = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
              EVP_PKEY_verify(ctx, der, (size_t)derlen, dgst, dlen) == 1;
      EVP_PKEY_CTX_free(ctx);
    }
    OPENSSL_free(der);
    BN_free(r);
    BN_free(s);
    DSA_SIG_free(sig);
  }
  napi_value out;
  napi_get_boolean(env, valid, &out);
  return out;
}

/* keyInfo(key): { type: "rsa" | "dsa" | "other", bits, bytes } for a handle. */
napi_value KeyInfo(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  EVP_PKEY *pkey = argc >= 1 ? IkedGetKey(env, argv[0]) : NULL;
  THROW_IF(pkey == NULL, "IKE_ERR_NATIVE_ARG", "keyInfo(key)");
  int id = EVP_PKEY_get_base_id(pkey);
  const char *type = id == EVP_PKEY_RSA ? "rsa" : id == EVP_PKEY_DSA ? "dsa" : "other";
  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_string_utf8(env, type, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "type", v);
  napi_create_int32(env, EVP_PKEY_get_bits(pkey), &v);
  napi_set_named_property(env, out, "bits", v);
  napi_create_int32(env, EVP_PKEY_get_size(pkey), &v);
  napi_set_named_property(env, out, "bytes", v);
  return out;
}
