/** Cold-start work of every function (HTTP, SQS and scheduled): validate the config sections it needs. */
import { getConfig, type SectionName } from '../config.js';

/** Validates `sections` now, so a misconfigured function fails at cold start naming the variable. */
export function handlerPrelude(sections: SectionName[]): void {
  getConfig('service');
  for (const s of sections) getConfig(s);
}
