/*
 * Module registration (the Socket class and the module's functions, one receive arena per thread) and the
 * N-API helpers every unit uses: errors, arrays, unwrapping a socket, calling a socket's JavaScript.
 */
#include "echolot_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

napi_value throw_errno(napi_env env, int err, const char *syscall) {
  napi_value msg, code, error, sys;
  char buf[160];
  snprintf(buf, sizeof buf, "%s %s: %s", syscall, uv_err_name(-err), strerror(err));
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, error, "syscall", sys);
  napi_value n;
  napi_create_int32(env, -err, &n);
  napi_set_named_property(env, error, "errno", n);
  napi_throw(env, error);
  return NULL;
}

napi_value throw_msg(napi_env env, const char *m) {
  napi_throw_error(env, "ERR_ECHOLOT_NATIVE", m);
  return NULL;
}

/* A JavaScript array of these n values (the methods' multi-value returns). */
napi_value js_array(napi_env env, uint32_t n, const napi_value *items) {
  napi_value arr;
  if (napi_create_array_with_length(env, n, &arr) != napi_ok) return NULL;
  for (uint32_t i = 0; i < n; i++) napi_set_element(env, arr, i, items[i]);
  return arr;
}

/* A typed array over new memory (*mem), held by a reference (*ref) for as long as C uses it. */
napi_value typed(napi_env env, napi_typedarray_type type, size_t count, size_t elem, void **mem, napi_ref *ref) {
  napi_value ab, arr;
  if (napi_create_arraybuffer(env, count * elem, mem, &ab) != napi_ok) return NULL;
  if (napi_create_typedarray(env, type, count, ab, 0, &arr) != napi_ok) return NULL;
  napi_create_reference(env, arr, 1, ref);
  return arr;
}

int get_string(napi_env env, napi_value v, char *buf, size_t cap) {
  size_t n;
  return napi_get_value_string_utf8(env, v, buf, cap, &n) == napi_ok ? 0 : -1;
}

Sock *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  Sock *s = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, (void **)&s) != napi_ok) return NULL;
  if (s == NULL || s->closed) {
    throw_msg(env, "socket closed");
    return NULL;
  }
  return s;
}

/* Calls one of s's JavaScript callbacks; an exception it throws is reported as uncaught, not swallowed. */
void call_js(Sock *s, napi_ref fn_ref, int argc, napi_value *argv, napi_value *result) {
  napi_env env = s->env;
  napi_value fn, recv;
  if (fn_ref == NULL || napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == NULL) return;
  napi_get_reference_value(env, s->self, &recv);
  napi_value ignored;
  napi_status st = napi_make_callback(env, s->actx, recv, fn, (size_t)argc, argv, result ? result : &ignored);
  if (st == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

static napi_value hrtime(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_double(env, now_ns(), &out);
  return out;
}

static napi_value get_shared(napi_env env, napi_callback_info info) {
  (void)info;
  Shared *sh;
  CHECK(napi_get_instance_data(env, (void **)&sh));
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_get_reference_value(env, sh->data_ref, &v);
  napi_set_named_property(env, obj, "data", v);
  napi_get_reference_value(env, sh->meta_ref, &v);
  napi_set_named_property(env, obj, "meta", v);
  napi_get_reference_value(env, sh->src_ref, &v);
  napi_set_named_property(env, obj, "src", v);
  napi_get_reference_value(env, sh->dst_ref, &v);
  napi_set_named_property(env, obj, "dst", v);
  napi_get_reference_value(env, sh->ts_ref, &v);
  napi_set_named_property(env, obj, "ts", v);
  napi_get_reference_value(env, sh->verdict_ref, &v);
  napi_set_named_property(env, obj, "verdict", v);
  napi_create_uint32(env, BATCH, &v);
  napi_set_named_property(env, obj, "batch", v);
  napi_create_uint32(env, SLOT, &v);
  napi_set_named_property(env, obj, "slot", v);
  napi_create_uint32(env, M_STRIDE, &v);
  napi_set_named_property(env, obj, "metaStride", v);
  return obj;
}

static void free_shared(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  loop_guard_free((Shared *)data);
  free(data);
}

static napi_value init(napi_env env, napi_value exports) {
  Shared *sh = calloc(1, sizeof *sh);
  if (sh == NULL) return throw_msg(env, "out of memory");
  void *mem;
  napi_value ab;
  CHECK(napi_create_arraybuffer(env, (size_t)BATCH * SLOT, &mem, &ab));
  sh->data = mem;
  napi_create_reference(env, ab, 1, &sh->data_ref);
  if (typed(env, napi_int32_array, BATCH * M_STRIDE, 4, &mem, &sh->meta_ref) == NULL) return NULL;
  sh->meta = mem;
  if (typed(env, napi_uint8_array, BATCH * 16, 1, &mem, &sh->src_ref) == NULL) return NULL;
  sh->src = mem;
  if (typed(env, napi_uint8_array, BATCH * 16, 1, &mem, &sh->dst_ref) == NULL) return NULL;
  sh->dst = mem;
  if (typed(env, napi_float64_array, BATCH, 8, &mem, &sh->ts_ref) == NULL) return NULL;
  sh->ts = mem;
  /* The verdict bytes live in JS memory too, so a policy can write them directly. */
  if (typed(env, napi_uint8_array, BATCH, 1, &mem, &sh->verdict_ref) == NULL) return NULL;
  sh->verdict = mem;
  CHECK(napi_set_instance_data(env, sh, free_shared, NULL));

  napi_property_descriptor methods[] = {
      {"bind", NULL, sock_bind, NULL, NULL, NULL, napi_default, NULL},
      {"connect", NULL, sock_connect, NULL, NULL, NULL, napi_default, NULL},
      {"local", NULL, sock_local, NULL, NULL, NULL, napi_default, NULL},
      {"bufferSize", NULL, sock_buffer, NULL, NULL, NULL, napi_default, NULL},
      {"startEcho", NULL, sock_start_echo, NULL, NULL, NULL, napi_default, NULL},
      {"setFilter", NULL, sock_set_filter, NULL, NULL, NULL, napi_default, NULL},
      {"setPolicy", NULL, sock_set_policy, NULL, NULL, NULL, napi_default, NULL},
      {"startClient", NULL, sock_start_client, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, sock_send, NULL, NULL, NULL, napi_default, NULL},
      {"startProbeClient", NULL, sock_start_probe_client, NULL, NULL, NULL, napi_default, NULL},
      {"startWindow", NULL, sock_start_window, NULL, NULL, NULL, napi_default, NULL},
      {"windowTick", NULL, sock_window_tick, NULL, NULL, NULL, napi_default, NULL},
      {"queued", NULL, sock_queued, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, sock_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value ctor;
  CHECK(napi_define_class(env, "Socket", NAPI_AUTO_LENGTH, sock_new, NULL, sizeof methods / sizeof methods[0],
                          methods, &ctor));
  napi_property_descriptor fns[] = {
      {"Socket", NULL, NULL, NULL, NULL, ctor, napi_enumerable, NULL},
      {"probeBind", NULL, probe_bind, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hrtime", NULL, hrtime, NULL, NULL, NULL, napi_enumerable, NULL},
      {"probeGroup", NULL, probe_group, NULL, NULL, NULL, napi_enumerable, NULL},
      {"shared", NULL, get_shared, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns));
  if (tally_register(env, exports) == NULL) return NULL;
  return plane_register(env, exports);
}

NAPI_MODULE_INIT() { return init(env, exports); }
