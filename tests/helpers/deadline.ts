/**
 * A safety deadline for a test's wait.
 *
 * @module
 */

/**
 * Settles like `promise`, or rejects naming `what` after `ms`. Only a net under a wait that ends
 * on an event (bytes, an exit, a handshake): no test asserts how long anything takes, so the
 * deadline is generous enough for a loaded machine.
 */
export async function withDeadline<T>(promise: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
