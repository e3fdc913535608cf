{
  "targets": [
    {
      "target_name": "iked_native",
      "sources": ["src/addon.c", "src/pkey.c", "src/rsa-decrypt.c", "src/ksock.c", "src/udp-bypass.c", "src/udp-batch.c", "src/digest.c", "src/v8-heap.cc"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "defines": ["NAPI_VERSION=8", "OPENSSL_API_COMPAT=30000", "OPENSSL_NO_DEPRECATED"]
    }
  ]
}
