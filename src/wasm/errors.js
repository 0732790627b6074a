// The error every export of the package throws for input that is not a valid call: its own class, so that
// a caller can tell it from a bug of theirs with `instanceof`. The WebAssembly module creates it (through
// `inputError`); the package's entry exports the class.
export class RencheInputError extends Error {
  constructor(message, field, code, line, column) {
    super(message);
    this.name = "RencheInputError";
    this.field = field;
    this.code = code;
    if (line > 0) {
      this.line = line;
      this.column = column;
    }
  }
}

export function inputError(message, field, code, line, column) {
  return new RencheInputError(message, field, code, line, column);
}

// JSON.stringify writes NaN and ±Infinity as null, which would read as "no value" (or as a wrong type).
// Only called when the JSON text holds a null: the path of the first such number, or undefined.
export function nonFinitePath(value) {
  const walk = (v, path) => {
    if (typeof v === "number") return Number.isFinite(v) ? undefined : path;
    if (v === null || typeof v !== "object") return undefined;
    if (typeof v.toJSON === "function") return undefined;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const found = walk(v[i], `${path}[${i}]`);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    for (const key of Object.keys(v)) {
      const found = walk(v[key], path === "" ? key : `${path}.${key}`);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return walk(value, "");
}
