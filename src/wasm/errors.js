// RencheInputError: see errors.d.ts and src/wasm/convert.rs.
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
