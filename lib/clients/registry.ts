/**
 * The container's clients are split per outside system (one module each), so a
 * function's bundle carries only the SDKs it uses; each module registers how to
 * close its client here, for tests, benches and local shutdown.
 */
const closers = new Set<() => Promise<void> | void>();

/** Registers how to close one client. */
export function onClose(close: () => Promise<void> | void): void {
  closers.add(close);
}

/** Closes every client this container opened. */
export async function closeClients(): Promise<void> {
  const pending = [...closers].map((close) => close());
  await Promise.all(pending);
}
