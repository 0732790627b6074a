
// The types of the package's `Client` (client.js, from src/wasm/client.js).
import type {
  BindingAnswer, BindingCall, Fen, Reason, RelationshipCode, RouteCall, Rules, UnbindAnswer, UnbindCall, ViolationRoute,
} from "./renche_core.js";

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

/** One of the codes `relationships()` lists. */
export type Relationship = RelationshipCode;

export interface CommitBindingOptions extends RequestOptions {
  /** Required by the server for QR applications; SMS ones record "other". */
  relationship?: Relationship;
  /** A verification started with purpose "application" for this application (`startVerification`). */
  verificationId?: string;
  /** The provider's signed result from the return address; without it the server asks the provider. */
  result?: string;
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

/** Linking the account to its holder's records, once: the name and resident ID to verify. */
export interface AccountVerificationOptions extends RequestOptions {
  purpose: "account";
  name: string;
  residentId: string;
  /** Where the provider sends the person back, e.g. "/#/verify" (default "/"). */
  returnPath?: string;
}

/** The binder's check before committing this application (their own name and ID, from their record). */
export interface ApplicationVerificationOptions extends RequestOptions {
  purpose: "application";
  applicationId: string;
  returnPath?: string;
}

export type StartVerificationOptions = AccountVerificationOptions | ApplicationVerificationOptions;

export type VerificationStatus = "started" | "passed" | "failed" | "no_face" | "unavailable";

/** A verification as the server returns it (docs/api.md). */
export interface Verification {
  id: string;
  purpose: "account" | "application";
  applicationId: string | null;
  status: VerificationStatus;
  /** Send the person's browser here: the provider's page (camera, liveness prompt). */
  providerUrl: string;
  expiresAt: string;
}

export interface FinishVerificationOptions extends RequestOptions {
  /** The provider's signed result from the return address; without it the server asks the provider. */
  result?: string;
}

/** What the provider added to the return address; `null` for each one missing. */
export interface VerificationReturn {
  verificationId: string | null;
  result: string | null;
}

/** One HTTP exchange whose 2xx body is known. */
export interface TypedApiResponse<T> extends ApiResponse {
  /** `T` when `ok`; the server's error body otherwise. */
  body: T | { error: { code: string; message: { zh: string; en: string }; params?: Record<string, unknown> } } | null;
}

/** The session as the server describes it after `finishVerification` (docs/api.md, SessionView). */
export interface SessionView {
  csrfToken: string;
  account: { id: string; phoneMasked: string; verified: boolean } | null;
  person: Record<string, unknown> | null;
  nextStep: "sign_in" | "verify_identity" | null;
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

/** A client of the renche backend. */
export declare class Client {
  /**
   * `new Client({ baseUrl, retries?, baseDelayMs?, timeoutMs? })`: retries after the first try (default 4), the
   * first backoff (default 200 ms, doubling), and the time allowed for one try (default 15 s). Decides locally
   * with the built-in default policy until `loadPolicy` or `useRules`.
   */
  constructor(options: ClientOptions);
  /** Decide locally with these rules from now on (the client keeps its own copy). */
  useRules(rules: Rules): void;
  /** Releases the client's copy of the rules now rather than when it is garbage-collected. */
  free(): void;
  /** A copy of the rules the client decides with. */
  rules(): Rules;
  /** The version of the policy the client decides with. */
  readonly policyVersion: string;
  /**
   * Fetches the city's policy (`GET /api/v1/policy?city=…`, the national default without a city) and decides
   * with it from now on. Resolves to its version.
   */
  loadPolicy(city?: string | null): Promise<string>;
  /** `GET /api/v1/session`: starts a session if there is none and keeps its CSRF token. */
  session(): Promise<ApiResponse>;
  /**
   * Any call of the API, e.g. `request("POST", "/api/v1/auth/sign-in", { challengeId, code, phone })`.
   * State-changing calls carry the CSRF token (fetched first when the client has none) and an
   * `Idempotency-Key` (the one given, or a new one reused by every retry). Resolves to the status and the JSON
   * body whatever the status; rejects only when the server could not be reached after the retries.
   */
  request(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<ApiResponse>;
  /**
   * Commits a binding application (`POST /api/v1/binding-applications/{id}/commit`). With `check` (what the
   * page knows of the binder, the vehicle and their bindings) the local rules decide first: a local refusal
   * answers at once, without the network.
   */
  commitBinding(applicationId: string, options?: CommitBindingOptions): Promise<ClientOutcome<BindingAnswer>>;
  /**
   * Starts a real-person verification (`POST /api/v1/identity/verifications`): purpose "account" with the
   * holder's name and resident ID, or "application" with the application to commit after it. On 201 the
   * body is the verification: send the person to its `providerUrl`.
   */
  startVerification(options: StartVerificationOptions): Promise<TypedApiResponse<Verification>>;
  /**
   * Finishes an "account" verification with the provider's signed result. On 200 the body is the new
   * session (`person` linked). An "application" verification goes to `commitBinding` instead.
   */
  finishVerification(verificationId: string, options?: FinishVerificationOptions): Promise<TypedApiResponse<SessionView>>;
  /** The `verificationId` and `result` in a return address (its query, or the query after its fragment's path). */
  static verificationReturn(url: string): VerificationReturn;
  /**
   * Handles and pays a violation (`POST /api/v1/violations/{id}/handle`). With `check` (a route call holding
   * this violation) the local rules decide first: a violation they do not route online answers at once,
   * without the network.
   */
  handleViolation(violationId: string, options?: HandleViolationOptions): Promise<ClientOutcome<ViolationRoute>>;
  /** Removes a binding (`DELETE /api/v1/bindings/{id}`). With `check` the local rules decide first. */
  removeBinding(bindingId: string, options?: RemoveBindingOptions): Promise<ClientOutcome<UnbindAnswer>>;
}
