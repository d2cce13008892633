/** Starts the local stack of real servers once per test run if it is not running. */
import { stackUp } from '../../scripts/lib/stack/index.mjs';

export default async function setup(): Promise<void> {
  await stackUp({ quiet: true });
}
