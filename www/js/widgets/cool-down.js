// The wait before an SMS code may be sent again, shown on the "send code" button itself.

import { t } from '../i18n.js';

/** The cool-down text on a "send code" button, counted from when the server accepted the request. */
export function coolDown(button, seconds, label, onDone) {
  let left = Math.max(0, Math.round(seconds));
  const tick = () => {
    if (!button.isConnected) return clearInterval(timer);
    if (left <= 0) {
      clearInterval(timer);
      button.disabled = false;
      button.textContent = label();
      onDone?.();
      return undefined;
    }
    // Set on every tick: other code (as-you-type checks) may have enabled it meanwhile.
    button.disabled = true;
    button.textContent = t('resendIn', { s: left });
    left -= 1;
    return undefined;
  };
  const timer = setInterval(tick, 1000);
  tick();
  return () => clearInterval(timer);
}
