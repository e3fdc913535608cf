/* Entry points of pkey.c and rsa-decrypt.c, registered by addon.c. */
#ifndef IKED_PKEY_H
#define IKED_PKEY_H
#include <node_api.h>

/* Throw a JS Error with a stable code and return from the N-API callback. */
#define THROW_IF(cond, code, msg)                      \
  do {                                                 \
    if (cond) {                                        \
      napi_throw_error(env, (code), (msg));            \
      return NULL;                                     \
    }                                                  \
  } while (0)


napi_value LoadPrivateKey(napi_env env, napi_callback_info info);
napi_value LoadPublicKey(napi_env env, napi_callback_info info);
napi_value KeyInfo(napi_env env, napi_callback_info info);
napi_value DsaSign(napi_env env, napi_callback_info info);
napi_value DsaVerify(napi_env env, napi_callback_info info);
napi_value RsaDecryptPkcs1(napi_env env, napi_callback_info info);

/* Shared with rsa-decrypt.c: the EVP_PKEY behind a key handle, or NULL. */
struct evp_pkey_st;
struct evp_pkey_st *IkedGetKey(napi_env env, napi_value v);
int IkedGetBytes(napi_env env, napi_value v, const unsigned char **data, size_t *len);

#endif
