/*
 * rsaDecryptPkcs1(key, ciphertext): RSA PKCS#1 v1.5 (type 2) decryption with implicit rejection.
 *
 * A decryptor that tells "bad padding" apart from "good padding" (by an error, or by time) is a
 * Bleichenbacher/Marvin oracle: an attacker who can send ciphertexts recovers plaintexts or forges
 * signatures with the key. IKEv1 auth methods 4 and 5 (RFC 2409 §5.2, §5.3) decrypt peer-chosen
 * ciphertexts, so the oracle would be reachable from the network.
 *
 * Implicit rejection (draft-irtf-cfrg-rsa-guidance, the scheme OpenSSL 3.2 adopted; Node 20's
 * OpenSSL 3.0 lacks it): when the padding is wrong, return a synthetic message derived from the
 * private key and the ciphertext instead of failing. The result is deterministic per ciphertext, looks
 * random, and has a pseudo-random length, so the caller's later checks (the IKE hash) fail the same
 * way for a bad padding as for a wrong plaintext. The raw RSA operation is OpenSSL's (blinded,
 * constant-time); the padding check and the selection between real and synthetic message below use
 * branch-free masks, so their timing does not depend on the padding either.
 *
 *   KDK = HMAC-SHA256(key = SHA256(d as k bytes), C as k bytes)
 *   PRF(label, n bytes) = HMAC-SHA256(KDK, i(2 bytes) || label || n*8 (2 bytes)) for i = 0, 1, ...
 *   synthetic length  = last of 128 16-bit candidates from PRF("length", 256), masked, that is < k-10
 *   synthetic message = last (synthetic length) bytes of PRF("message", k)
 *
 * Errors are thrown only for conditions that depend on public data alone (argument types, a
 * ciphertext longer than the modulus or not smaller than it).
 */
#include <string.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include "pkey.h"

#define MAX_K 1024 /* 8192-bit moduli */

/* Branch-free helpers: a mask is all ones (true) or zero (false). */
static unsigned CtMsb(unsigned a) { return 0u - (a >> (sizeof(a) * 8 - 1)); }
static unsigned CtIsZero(unsigned a) { return CtMsb(~a & (a - 1)); }
static unsigned CtEq(unsigned a, unsigned b) { return CtIsZero(a ^ b); }
static unsigned CtLt(unsigned a, unsigned b) { return CtMsb(a ^ ((a ^ b) | ((a - b) ^ b))); }
static unsigned CtSelect(unsigned mask, unsigned a, unsigned b) { return (mask & a) | (~mask & b); }

/*
 * HMAC-SHA256 keyed contexts: the MAC and digest are fetched from the provider once per decryption
 * and each PRF block runs on a copy of the keyed context (fetching per call cost ~15% of the whole
 * decryption).
 */
static EVP_MAC_CTX *HmacKeyed(EVP_MAC *mac, const unsigned char *key, size_t keylen) {
  OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0), OSSL_PARAM_construct_end()};
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
  if (ctx != NULL && EVP_MAC_init(ctx, key, keylen, params) == 1) return ctx;
  EVP_MAC_CTX_free(ctx);
  return NULL;
}

static int HmacOnce(EVP_MAC_CTX *keyed, const unsigned char *data, size_t len, unsigned char out[32]) {
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(keyed);
  size_t outlen = 0;
  int ok = ctx != NULL && EVP_MAC_update(ctx, data, len) == 1 && EVP_MAC_final(ctx, out, &outlen, 32) == 1 && outlen == 32;
  EVP_MAC_CTX_free(ctx);
  return ok;
}

static int Prf(EVP_MAC_CTX *kdk, const char *label, unsigned char *out, size_t n) {
  unsigned char input[2 + 16 + 2], block[32];
  size_t llen = strlen(label), bits = n * 8;
  memcpy(input + 2, label, llen);
  input[2 + llen] = (unsigned char)(bits >> 8);
  input[3 + llen] = (unsigned char)bits;
  for (size_t pos = 0, i = 0; pos < n; i++, pos += 32) {
    input[0] = (unsigned char)(i >> 8);
    input[1] = (unsigned char)i;
    if (!HmacOnce(kdk, input, llen + 4, block)) return 0;
    memcpy(out + pos, block, n - pos < 32 ? n - pos : 32);
  }
  OPENSSL_cleanse(block, sizeof(block));
  return 1;
}

/* KDK from the private exponent and the (left-padded) ciphertext. */
static int DeriveKdk(EVP_MAC *mac, EVP_PKEY *pkey, const unsigned char *c, size_t k, unsigned char kdk[32]) {
  BIGNUM *d = NULL;
  unsigned char dbytes[MAX_K], dhash[32];
  unsigned int hlen = 0;
  EVP_MAC_CTX *keyed = NULL;
  int ok = EVP_PKEY_get_bn_param(pkey, "d", &d) && BN_bn2binpad(d, dbytes, (int)k) == (int)k &&
           EVP_Digest(dbytes, k, dhash, &hlen, EVP_sha256(), NULL) && hlen == 32 &&
           (keyed = HmacKeyed(mac, dhash, 32)) != NULL && HmacOnce(keyed, c, k, kdk);
  EVP_MAC_CTX_free(keyed);
  BN_clear_free(d);
  OPENSSL_cleanse(dbytes, sizeof(dbytes));
  OPENSSL_cleanse(dhash, sizeof(dhash));
  return ok;
}

/* Fill lengths[] and syn[] (k bytes) from the KDK. */
static int Synthetic(EVP_PKEY *pkey, const unsigned char *c, size_t k, unsigned char lengths[256], unsigned char *syn) {
  unsigned char kdk[32];
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  EVP_MAC_CTX *keyed = NULL;
  int ok = mac != NULL && DeriveKdk(mac, pkey, c, k, kdk) && (keyed = HmacKeyed(mac, kdk, 32)) != NULL &&
           Prf(keyed, "length", lengths, 256) && Prf(keyed, "message", syn, k);
  EVP_MAC_CTX_free(keyed);
  EVP_MAC_free(mac);
  OPENSSL_cleanse(kdk, sizeof(kdk));
  return ok;
}

napi_value RsaDecryptPkcs1(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  const unsigned char *in;
  size_t inlen;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  EVP_PKEY *pkey = argc >= 2 ? IkedGetKey(env, argv[0]) : NULL;
  THROW_IF(pkey == NULL || !IkedGetBytes(env, argv[1], &in, &inlen), "IKE_ERR_NATIVE_ARG",
           "rsaDecryptPkcs1(key, ciphertext)");
  THROW_IF(EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA, "IKE_ERR_KEY_TYPE", "rsaDecryptPkcs1 needs an RSA private key");
  size_t k = (size_t)EVP_PKEY_get_size(pkey);
  THROW_IF(k < 11 + 1 || k > MAX_K, "IKE_ERR_KEY_TYPE", "unsupported RSA modulus size");
  THROW_IF(inlen == 0 || inlen > k, "IKE_ERR_RSA_CIPHERTEXT", "ciphertext longer than the modulus");

  unsigned char c[MAX_K], em[MAX_K], syn[MAX_K], lengths[256];
  memset(c, 0, k - inlen);
  memcpy(c + (k - inlen), in, inlen);

  size_t emlen = k;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
  int raw = ctx != NULL && EVP_PKEY_decrypt_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
            EVP_PKEY_decrypt(ctx, em, &emlen, c, k) == 1 && emlen == k;
  EVP_PKEY_CTX_free(ctx);
  /* The raw operation fails only for C >= n (public) or an internal error; neither reveals padding. */
  THROW_IF(!raw, "IKE_ERR_RSA_CIPHERTEXT", "ciphertext not smaller than the modulus");

  if (!Synthetic(pkey, c, k, lengths, syn)) {
    OPENSSL_cleanse(em, k);
    OPENSSL_cleanse(syn, k);
    THROW_IF(1, "IKE_ERR_RSA_DECRYPT", "RSA decryption failed");
  }

  /* Synthetic length: the last candidate below the longest possible message, k - 2 - 8. */
  unsigned maxMsg = (unsigned)k - 10, mask = maxMsg, synLen = 0;
  mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4; mask |= mask >> 8;
  for (size_t i = 0; i < sizeof(lengths); i += 2) {
    unsigned cand = (((unsigned)lengths[i] << 8) | lengths[i + 1]) & mask;
    synLen = CtSelect(CtLt(cand, maxMsg), cand, synLen);
  }

  /* EM = 0x00 || 0x02 || PS (>= 8 nonzero bytes) || 0x00 || M, checked without branching on EM. */
  unsigned good = CtIsZero(em[0]) & CtEq(em[1], 2), found = 0, zeroAt = 0;
  for (unsigned i = 2; i < k; i++) {
    unsigned isZero = CtIsZero(em[i]);
    zeroAt = CtSelect(~found & isZero, i, zeroAt);
    found |= isZero;
  }
  good &= found & ~CtLt(zeroAt, 2 + 8);
  unsigned msgLen = CtSelect(good, (unsigned)k - (zeroAt + 1), synLen);
  /* Both messages end at byte k, so choosing byte by byte selects the whole message. */
  for (size_t i = 0; i < k; i++) em[i] = (unsigned char)CtSelect(good, em[i], syn[i]);

  napi_value out;
  void *dst;
  napi_status st = napi_create_buffer(env, msgLen, &dst, &out);
  if (st == napi_ok && msgLen) memcpy(dst, em + (k - msgLen), msgLen);
  OPENSSL_cleanse(em, k);
  OPENSSL_cleanse(syn, k);
  OPENSSL_cleanse(lengths, sizeof(lengths));
  return st == napi_ok ? out : NULL;
}
