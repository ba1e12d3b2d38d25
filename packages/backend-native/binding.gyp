{
  "targets": [
    {
      "target_name": "distillery_native",
      "sources": ["native/addon.cc", "native/kernels.cc", "native/pool.cc"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fno-math-errno", "-fno-trapping-math"],
      "cflags": ["-O3", "-fno-math-errno", "-fno-trapping-math"],
      "libraries": ["-lopenblas", "-lpthread"],
      "conditions": [
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3"]
          }
        }]
      ]
    }
  ]
}
