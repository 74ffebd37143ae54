{
  "targets": [
    {
      "target_name": "echolot_io",
      "sources": [
        "native/module.c",
        "native/socket.c",
        "native/send_queue.c",
        "native/echo.c",
        "native/loop_guard.c",
        "native/client.c",
        "native/client_group.c",
        "native/probe_codec.c",
        "native/tally.c",
        "native/plane.c",
        "native/echo_thread.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", {"type": "none", "sources/": [["exclude", "\\.c$"]]}]]
    }
  ]
}
