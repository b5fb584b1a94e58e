/* Teaches ThreadSanitizer GLib's synchronisation, for the TSan test setup only.
 *
 * On Linux, GMutex and GCond are built directly on futexes and g_once_init_leave on
 * a plain atomic store, all inside the uninstrumented libglib, so TSan never sees
 * the happens-before they create: every GstBuffer handed from a streaming thread to
 * the test thread through GstHarness's GAsyncQueue, every field guarded by
 * GST_OBJECT_LOCK, every GType registered once, looks like a data race. libgstreamer,
 * libgstbase, libgstcheck and libgobject call these functions through the PLT, so this
 * library, LD_PRELOADed, sits in front of each call and tells TSan what the real
 * function did: a lock acquires the mutex's address, an unlock releases it. libglib's
 * calls to its own GMutex are bound inside libglib and never reach us, which is why
 * GAsyncQueue is wrapped as a whole below. pthread mutexes (GRecMutex, GRWLock) need
 * nothing: TSan intercepts pthreads itself.
 *
 * Built by scripts/sanitizers.sh without instrumentation; the __tsan_* entry points
 * resolve against the runtime linked into the test executable. */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>

void __tsan_acquire(void *addr);
void __tsan_release(void *addr);

typedef int gboolean;

typedef void (*LockFn)(void *mutex);
typedef gboolean (*TryLockFn)(void *mutex);
typedef void (*WaitFn)(void *cond, void *mutex);
typedef gboolean (*WaitUntilFn)(void *cond, void *mutex, int64_t end_time);
typedef gboolean (*OnceEnterFn)(volatile void *location);
typedef void (*OnceLeaveFn)(volatile void *location, uintptr_t result);
typedef void (*PushFn)(void *queue, void *data);
typedef void *(*PopFn)(void *queue);
typedef void *(*TimeoutPopFn)(void *queue, uint64_t timeout);

/* The real GLib function behind ours, looked up once. Two threads racing on the
 * first lookup store the same pointer. */
static void *next(void **cache, const char *name) {
  if (!*cache)
    *cache = dlsym(RTLD_NEXT, name);
  return *cache;
}

void g_mutex_lock(void *mutex) {
  static void *real;
  ((LockFn)next(&real, "g_mutex_lock"))(mutex);
  __tsan_acquire(mutex);
}

gboolean g_mutex_trylock(void *mutex) {
  static void *real;
  gboolean locked = ((TryLockFn)next(&real, "g_mutex_trylock"))(mutex);
  if (locked)
    __tsan_acquire(mutex);
  return locked;
}

void g_mutex_unlock(void *mutex) {
  static void *real;
  __tsan_release(mutex);
  ((LockFn)next(&real, "g_mutex_unlock"))(mutex);
}

void g_cond_wait(void *cond, void *mutex) {
  static void *real;
  __tsan_release(mutex);
  ((WaitFn)next(&real, "g_cond_wait"))(cond, mutex);
  __tsan_acquire(mutex);
}

gboolean g_cond_wait_until(void *cond, void *mutex, int64_t end_time) {
  static void *real;
  __tsan_release(mutex);
  gboolean signalled =
      ((WaitUntilFn)next(&real, "g_cond_wait_until"))(cond, mutex, end_time);
  __tsan_acquire(mutex);
  return signalled;
}

/* g_once_init_enter's fast path is an inline atomic load in instrumented code; the
 * store it pairs with is in g_once_init_leave. */
gboolean g_once_init_enter(volatile void *location) {
  static void *real;
  gboolean first = ((OnceEnterFn)next(&real, "g_once_init_enter"))(location);
  __tsan_acquire((void *)location);
  return first;
}

void g_once_init_leave(volatile void *location, uintptr_t result) {
  static void *real;
  __tsan_release((void *)location);
  ((OnceLeaveFn)next(&real, "g_once_init_leave"))(location, result);
}

/* GAsyncQueue takes its GMutex from inside libglib, where the calls do not go through
 * the PLT, so the queue itself is the synchronisation object: what a thread did
 * before a push happens before what the thread that pops that item does next. This
 * is how GstHarness hands buffers and events from the streaming thread to the test. */
void g_async_queue_push(void *queue, void *data) {
  static void *real;
  __tsan_release(queue);
  ((PushFn)next(&real, "g_async_queue_push"))(queue, data);
}

void *g_async_queue_pop(void *queue) {
  static void *real;
  void *data = ((PopFn)next(&real, "g_async_queue_pop"))(queue);
  __tsan_acquire(queue);
  return data;
}

void *g_async_queue_try_pop(void *queue) {
  static void *real;
  void *data = ((PopFn)next(&real, "g_async_queue_try_pop"))(queue);
  if (data)
    __tsan_acquire(queue);
  return data;
}

void *g_async_queue_timeout_pop(void *queue, uint64_t timeout) {
  static void *real;
  void *data = ((TimeoutPopFn)next(&real, "g_async_queue_timeout_pop"))(queue, timeout);
  if (data)
    __tsan_acquire(queue);
  return data;
}
