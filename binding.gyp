{
  "targets": [
    {
      "target_name": "echolot_io",
      "sources": ["native/echolot_io.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["native/echolot_io.c"]}]]
    }
  ]
}
