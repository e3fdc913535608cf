/* Entry points of digest.c, registered by addon.c. */
#ifndef IKED_DIGEST_H
#define IKED_DIGEST_H
#include <node_api.h>

napi_value MdFetch(napi_env env, napi_callback_info info);
napi_value CipherFetch(napi_env env, napi_callback_info info);
napi_value Digest(napi_env env, napi_callback_info info);
napi_value Hmac(napi_env env, napi_callback_info info);
napi_value Cbc(napi_env env, napi_callback_info info);

#endif
