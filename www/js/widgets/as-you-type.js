// As-you-type checks: a core parser runs on a field at each keystroke; the server still decides on submit.

import { t, pick } from '../i18n.js';

/** Runs a core parser on a field as the user types; shows the normal form or the core's message. */
export function validateAsYouType(f, parse, { showNormal = (p) => p.normal, onChange } = {}) {
  const check = () => {
    const text = f.input.value;
    if (!text.trim()) {
      f.setMessage('');
      onChange?.(null);
      return null;
    }
    const parsed = parse(text);
    if (parsed.ok) f.setMessage(t('valueLooksRight', { value: showNormal(parsed) }), 'ok');
    else f.setMessage(pick(parsed.error.message), 'error');
    onChange?.(parsed);
    return parsed;
  };
  f.input.addEventListener('input', check);
  if (f.input.value) check();
  return check;
}
