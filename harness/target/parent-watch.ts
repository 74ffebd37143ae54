/**
 * Loaded first (`node --import`) into every echo server the harness starts in a child process
 * (child-server.ts): descriptor 3 is one end of a pipe whose other end only the harness holds. When
 * the harness ends, however it ends (SIGKILL included), the kernel closes that end, this side reads
 * end-of-file, and the server is stopped with SIGTERM (its clean stop), then exits regardless after
 * a bound. So no server outlives the harness that started it, on every I/O path and platform.
 */
import { Socket } from 'node:net';

/** The child's descriptor of the pipe to the harness (spawn's stdio[3]). */
const PARENT_PIPE_FD = 3;

/** Bound on the clean stop after the harness is gone, before a plain exit, ms. */
const STOP_BOUND_MS = 2000;

/** Exit status of a process ended by SIGTERM (128 + 15). */
const SIGTERM_EXIT = 143;

function watchParent(): void {
  let pipe: Socket;
  try {
    pipe = new Socket({ fd: PARENT_PIPE_FD, readable: true, writable: false });
  } catch {
    return; // not started by the harness (no descriptor 3): nothing to watch
  }
  let gone = false;
  const onGone = (): void => {
    if (gone) return;
    gone = true;
    setTimeout(() => process.exit(SIGTERM_EXIT), STOP_BOUND_MS).unref();
    process.kill(process.pid, 'SIGTERM');
  };
  pipe.on('error', onGone);
  pipe.once('end', onGone);
  pipe.once('close', onGone);
  pipe.resume();
  // Watching must not keep the server alive on its own.
  pipe.unref();
}

watchParent();
