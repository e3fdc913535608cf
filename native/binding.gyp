{
  "targets": [
    {
      "target_name": "iked_native",
      "sources": ["src/addon.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
