
// ---- Client (src/wasm/client.rs) ----

export interface ClientOptions {
  /** The server's origin, e.g. "https://renche.example" or "" for the page's own origin. */
  baseUrl: string;
  /** Tries after the first one, for network failures and 5xx answers (default 4). */
  retries?: number;
  /** The first wait before a retry, doubled each time, with jitter (default 200). */
  baseDelayMs?: number;
  /** Time allowed for one try before it counts as a network failure (default 15000). */
  timeoutMs?: number;
}

export interface RequestOptions {
  /** Reuse a key to retry a call yourself; by default each call gets a new random one. */
  idempotencyKey?: string;
}

/** One HTTP exchange: the status and JSON body whatever the status (`null` for an empty body). */
export interface ApiResponse {
  status: number;
  ok: boolean;
  body: unknown;
  /** The server answered from its idempotency store (`Idempotent-Replayed: true`). */
  replayed: boolean;
  attempts: number;
  idempotencyKey: string | null;
}

export type Relationship =
  | "parent" | "spouse" | "child" | "sibling" | "relative" | "friend" | "colleague" | "other";

export interface CommitBindingOptions extends RequestOptions {
  /** Required by the server for QR applications; SMS ones record "other". */
  relationship?: Relationship;
  /** What the page knows; the local rules refuse at once when they can. */
  check?: BindingCall;
}

export interface HandleViolationOptions extends RequestOptions {
  /** A route call holding this violation; the local rules refuse at once unless they route it online. */
  check?: RouteCall;
  /** The amount the page showed; by default the local route's `owedFen`. */
  expectedOwedFen?: Fen;
}

export interface RemoveBindingOptions extends RequestOptions {
  check?: UnbindCall;
}

/** The server's decision, as in docs/api.md. */
export interface ServerDecision {
  allowed: boolean;
  reasons: Reason[];
  policyVersion: string;
  refreshPolicy: boolean;
  agreed?: boolean;
}

export interface ClientOutcome<L> {
  /** "local" when the local rules refused and the server was not asked. */
  source: "local" | "server";
  /** The server answered 2xx (the commit was made, or is waiting for verification); false when refused. */
  ok: boolean;
  status: number | null;
  /** The server's JSON body, success or error (`null` when answered locally). */
  body: unknown;
  /** The local rules' answer, when `check` was given. */
  local: L | null;
  decision: ServerDecision | null;
  /** The server's reasons when it was asked, else the local ones. */
  reasons: Reason[];
  /** false when the local rules and the server decided differently; null when one did not decide. */
  agreed: boolean | null;
  /** The server decides with another policy version: call `loadPolicy()`. */
  refreshPolicy: boolean;
  /** The answer came from the server's idempotency store: an earlier try had already been done. */
  replayed: boolean;
  attempts: number;
  idempotencyKey: string | null;
}
