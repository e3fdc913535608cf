/*
 * Keyed hashing and CBC for the IKE engine's per-message work (RFC 2409 prf, hash, the Phase 1 and
 * Phase 2 encryption): one N-API call each instead of a node:crypto Hmac/Hash/Cipheriv object per
 * call, which is most of their cost on the main thread for the short inputs IKE has.
 *
 * Algorithms are fetched once by the caller (`mdFetch`, `cipherFetch`: type-tagged externals holding
 * an EVP_MD / EVP_CIPHER, freed by the garbage collector) and used for every call. HMAC is RFC 2104
 * over EVP digests: the padded key blocks live on the stack and are cleansed before returning, and
 * the digest contexts are cleansed by EVP_MD_CTX_free; the cipher context's key schedule by
 * EVP_CIPHER_CTX_free. No global state: safe in every worker thread.
 */
#include <node_api.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "pkey.h"
#include "digest.h"

static const napi_type_tag kMdTag = {0x5e1f0c2a7d3b4e91ULL, 0x8a6c2f1e0b9d7a35ULL};
static const napi_type_tag kCipherTag = {0x2b7e9d4c1a0f6e83ULL, 0x4c9a1d7e3f5b0826ULL};

#define MAX_PARTS 16

static void FreeMd(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  EVP_MD_free((EVP_MD *)data);
}

static void FreeCipher(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  EVP_CIPHER_free((EVP_CIPHER *)data);
}

static int GetName(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) return 0;
  return len > 0 && len < size - 1;
}

static napi_value Wrap(napi_env env, void *p, const napi_type_tag *tag, napi_finalize fin) {
  napi_value ext;
  if (napi_create_external(env, p, fin, NULL, &ext) != napi_ok) {
    fin(env, p, NULL);
    napi_throw_error(env, "IKE_ERR_NATIVE", "cannot wrap an algorithm");
    return NULL;
  }
  napi_type_tag_object(env, ext, tag);
  return ext;
}

static void *Unwrap(napi_env env, napi_value v, const napi_type_tag *tag) {
  bool ok = false;
  void *p = NULL;
  if (napi_check_object_type_tag(env, v, tag, &ok) != napi_ok || !ok) return NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

/* The one string argument of mdFetch/cipherFetch in buf, or 0 (a JS error is then thrown). */
static int NameArg(napi_env env, napi_callback_info info, char *buf, size_t size, const char *usage) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1 && GetName(env, argv[0], buf, size)) return 1;
  napi_throw_error(env, "IKE_ERR_NATIVE_ARG", usage);
  return 0;
}

/* mdFetch(name): an EVP_MD handle, or an error when OpenSSL has no such digest. */
napi_value MdFetch(napi_env env, napi_callback_info info) {
  char name[64];
  if (!NameArg(env, info, name, sizeof(name), "mdFetch(name)")) return NULL;
  EVP_MD *md = EVP_MD_fetch(NULL, name, NULL);
  THROW_IF(md == NULL, "IKE_ERR_NATIVE_ALG", "digest not available");
  return Wrap(env, md, &kMdTag, FreeMd);
}

/* cipherFetch(name): an EVP_CIPHER handle (legacy ciphers need the legacy provider loaded). */
napi_value CipherFetch(napi_env env, napi_callback_info info) {
  char name[64];
  if (!NameArg(env, info, name, sizeof(name), "cipherFetch(name)")) return NULL;
  EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
  THROW_IF(c == NULL, "IKE_ERR_NATIVE_ALG", "cipher not available");
  return Wrap(env, c, &kCipherTag, FreeCipher);
}

/* Reads an array of Uint8Arrays into parts/lens; 0 when it is not one or has too many. */
static int GetParts(napi_env env, napi_value arr, const unsigned char **parts, size_t *lens, uint32_t *n) {
  bool is;
  if (napi_is_array(env, arr, &is) != napi_ok || !is) return 0;
  if (napi_get_array_length(env, arr, n) != napi_ok || *n > MAX_PARTS) return 0;
  for (uint32_t i = 0; i < *n; i++) {
    napi_value el;
    if (napi_get_element(env, arr, i, &el) != napi_ok) return 0;
    if (!IkedGetBytes(env, el, &parts[i], &lens[i])) return 0;
  }
  return 1;
}

static napi_value NewBuffer(napi_env env, const unsigned char *data, size_t len) {
  void *p;
  napi_value buf;
  if (napi_create_buffer_copy(env, len, data, &p, &buf) != napi_ok) return NULL;
  return buf;
}

/* digest(md, parts): H(part0 | part1 | ...). */
napi_value Digest(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  const unsigned char *parts[MAX_PARTS];
  size_t lens[MAX_PARTS];
  uint32_t n = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const EVP_MD *md = argc >= 2 ? Unwrap(env, argv[0], &kMdTag) : NULL;
  THROW_IF(md == NULL || !GetParts(env, argv[1], parts, lens, &n), "IKE_ERR_NATIVE_ARG", "digest(md, parts)");
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int outLen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx != NULL && EVP_DigestInit_ex2(ctx, md, NULL) == 1;
  for (uint32_t i = 0; ok && i < n; i++) ok = EVP_DigestUpdate(ctx, parts[i], lens[i]) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx, out, &outLen) == 1;
  EVP_MD_CTX_free(ctx);
  THROW_IF(!ok, "IKE_ERR_NATIVE_CRYPTO", "digest failed");
  return NewBuffer(env, out, outLen);
}

/* hmac(md, key, parts): HMAC (RFC 2104) of part0 | part1 | ... under key. */
napi_value Hmac(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  const unsigned char *parts[MAX_PARTS];
  size_t lens[MAX_PARTS];
  const unsigned char *key;
  size_t keyLen;
  uint32_t n = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const EVP_MD *md = argc >= 3 ? Unwrap(env, argv[0], &kMdTag) : NULL;
  THROW_IF(md == NULL || !IkedGetBytes(env, argv[1], &key, &keyLen) || !GetParts(env, argv[2], parts, lens, &n),
           "IKE_ERR_NATIVE_ARG", "hmac(md, key, parts)");
  int block = EVP_MD_get_block_size(md);
  THROW_IF(block <= 0 || block > 256, "IKE_ERR_NATIVE_ALG", "digest has no usable block size");
  unsigned char k[256], out[EVP_MAX_MD_SIZE];
  unsigned int outLen = 0, innerLen = 0;
  int ok = 1;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL) ok = 0;
  memset(k, 0, sizeof(k));
  if (ok && keyLen > (size_t)block) {
    unsigned int kl = 0;
    ok = EVP_DigestInit_ex2(ctx, md, NULL) == 1 && EVP_DigestUpdate(ctx, key, keyLen) == 1 && EVP_DigestFinal_ex(ctx, k, &kl) == 1;
  } else if (ok) {
    memcpy(k, key, keyLen);
  }
  /* Inner: H((K ^ ipad) | text). */
  for (int i = 0; i < block; i++) k[i] ^= 0x36;
  ok = ok && EVP_DigestInit_ex2(ctx, md, NULL) == 1 && EVP_DigestUpdate(ctx, k, block) == 1;
  for (uint32_t i = 0; ok && i < n; i++) ok = EVP_DigestUpdate(ctx, parts[i], lens[i]) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx, out, &innerLen) == 1;
  /* Outer: H((K ^ opad) | inner). */
  for (int i = 0; i < block; i++) k[i] ^= 0x36 ^ 0x5c;
  ok = ok && EVP_DigestInit_ex2(ctx, md, NULL) == 1 && EVP_DigestUpdate(ctx, k, block) == 1 && EVP_DigestUpdate(ctx, out, innerLen) == 1 &&
       EVP_DigestFinal_ex(ctx, out, &outLen) == 1;
  OPENSSL_cleanse(k, sizeof(k));
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    OPENSSL_cleanse(out, sizeof(out));
    napi_throw_error(env, "IKE_ERR_NATIVE_CRYPTO", "hmac failed");
    return NULL;
  }
  napi_value buf = NewBuffer(env, out, outLen);
  OPENSSL_cleanse(out, sizeof(out));
  return buf;
}

/* cbc(cipher, encrypt, key, iv, data): whole blocks, no padding; data.length % block checked by the caller too. */
napi_value Cbc(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  const unsigned char *key, *iv, *data;
  size_t keyLen, ivLen, dataLen;
  bool encrypt = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const EVP_CIPHER *c = argc >= 5 ? Unwrap(env, argv[0], &kCipherTag) : NULL;
  THROW_IF(c == NULL || napi_get_value_bool(env, argv[1], &encrypt) != napi_ok || !IkedGetBytes(env, argv[2], &key, &keyLen) ||
               !IkedGetBytes(env, argv[3], &iv, &ivLen) || !IkedGetBytes(env, argv[4], &data, &dataLen),
           "IKE_ERR_NATIVE_ARG", "cbc(cipher, encrypt, key, iv, data)");
  int block = EVP_CIPHER_get_block_size(c);
  THROW_IF(block <= 0 || (size_t)EVP_CIPHER_get_iv_length(c) != ivLen || dataLen % (size_t)block != 0, "IKE_ERR_NATIVE_ARG",
           "cbc: IV or data length does not fit the cipher");
  void *outp;
  napi_value buf;
  THROW_IF(napi_create_buffer(env, dataLen, &outp, &buf) != napi_ok, "IKE_ERR_NATIVE", "cbc: no buffer");
  unsigned char *out = outp;
  int len1 = 0, len2 = 0;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int enc = encrypt ? 1 : 0;
  int ok = ctx != NULL && EVP_CipherInit_ex2(ctx, c, NULL, NULL, enc, NULL) == 1;
  if (ok && (size_t)EVP_CIPHER_CTX_get_key_length(ctx) != keyLen) ok = EVP_CIPHER_CTX_set_key_length(ctx, (int)keyLen) == 1;
  ok = ok && EVP_CipherInit_ex2(ctx, NULL, key, iv, enc, NULL) == 1 && EVP_CIPHER_CTX_set_padding(ctx, 0) == 1;
  ok = ok && EVP_CipherUpdate(ctx, out, &len1, data, (int)dataLen) == 1 && EVP_CipherFinal_ex(ctx, out + len1, &len2) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok || (size_t)(len1 + len2) != dataLen) {
    memset(out, 0, dataLen);
    napi_throw_error(env, "IKE_ERR_NATIVE_CRYPTO", "cbc failed");
    return NULL;
  }
  return buf;
}
