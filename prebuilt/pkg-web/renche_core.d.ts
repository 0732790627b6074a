/* tslint:disable */
/* eslint-disable */

/** Stable codes of the errors the QR functions report. */
export type QrErrorCode =
| "QR_NOT_VEHICLE_CODE" | "QR_UNKNOWN_VERSION" | "QR_MALFORMED" | "QR_BAD_SIGNATURE" | "QR_EXPIRED"
| "QR_PLATE_NOT_ENCODABLE" | "QR_EXPIRY_OUT_OF_RANGE" | "QR_TEXT_TOO_LONG" | "QR_SCALE_OUT_OF_RANGE"
| "QR_IMAGE_BAD_DIMENSIONS" | "QR_IMAGE_TOO_LARGE" | "QR_NO_SYMBOL" | "QR_DECODE_FAILED"
| "QR_CANVAS_UNAVAILABLE";
export interface QrError {
    code: QrErrorCode;
    params: { [name: string]: string | number };
    message: { zh: string; en: string };
}
/** A JS Error thrown by the QR functions: `message` is "CODE: English text". */
export interface QrThrown extends Error {
    code: QrErrorCode;
    reason: QrError;
}
/** The modules of a symbol without its quiet zone: `size × size`, row-major, 1 = dark. */
export interface QrModules {
    size: number;
    version: number;
    modules: Uint8Array;
}
/**
 * What `qrPaintCanvas` paints into: an `HTMLCanvasElement`, described by its shape so that the package's
 * types need no DOM library.
 */
export interface QrCanvas {
    width: number;
    height: number;
    getContext(contextId: "2d"): object | null;
}
/** Opaque black-on-white pixels with the 4-module quiet zone, ready for `new ImageData(data, width, height)`. */
export interface QrImage {
    width: number;
    height: number;
    data: Uint8ClampedArray;
}
/** What a vehicle code says, unverified: only the server can tell whether it is genuine and unused. */
export interface QrPayloadInfo {
    version: number;
    /** RFC 3339, UTC, with milliseconds. */
    expiresAt: string;
    expiresAtMs: number;
    /** For example `粤S·1**45`. */
    maskedPlate: string;
}



// ---- Contract types (src/contract.rs). Field names are camelCase; unknown input fields are refused. ----

/** A UTC instant: an RFC 3339 string (`"2026-09-01T07:00:00Z"`) or epoch milliseconds. */
export type Instant = string | number;
/** A calendar day in China Standard Time, `"YYYY-MM-DD"`. */
export type CstDateString = string;
/** An amount of money in fen (1 yuan = 100 fen): a whole number from 0 to 1,000,000,000. */
export type Fen = number;
/** Points of one violation since 2022-04-01. */
export type Points = 0 | 1 | 3 | 6 | 9 | 12;

/** Plate type (号牌种类), GA 24.7. */
export type PlateTypeCode =
| "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "11" | "12" | "13" | "14" | "15"
| "16" | "17" | "18" | "19" | "20" | "21" | "22" | "23" | "24" | "25" | "26" | "27" | "31" | "32" | "41"
| "42" | "43" | "51" | "52" | "99";
export type OwnerKind = "individual" | "unit";
/** Use nature (使用性质): A non-commercial, D taxi, G rental, … */
export type UseNature =
| "A" | "B" | "C" | "D" | "E" | "F" | "G" | "H" | "I" | "J" | "K" | "L" | "M" | "N" | "O" | "P" | "Q"
| "R" | "S" | "Z";
export type Channel = "app" | "kiosk" | "window";
export type BindingMethod = "qr" | "sms" | "window";
export type DocumentKind = "driving_licence" | "id_card" | "vehicle_licence";
/** The binder's relationship to the owner, picked in the QR flow; the SMS flow records `other`. */
export type RelationshipCode =
| "parent" | "spouse" | "child" | "sibling" | "relative" | "friend" | "colleague" | "other";
export type LicenceClass =
| "A1" | "A2" | "A3" | "B1" | "B2" | "C1" | "C2" | "C3" | "C4" | "C5" | "C6" | "D" | "E" | "F" | "M"
| "N" | "P";
export type LicenceStatus =
| "normal" | "suspended" | "revoked" | "cancelled" | "expired" | "detained" | "locked" | "full_points";
export type ViolationSource = "device" | "on_site";
export type ViolationState = "unhandled" | "handled" | "paid";
export type ActorRole = "binder" | "owner" | "officer" | "other";
export type Stage = "precheck" | "commit";
export type NextStep = "realPersonVerification";
/** online: self-service now; window: go to a window; viewOnly: see, not handle; notTheirs; settled: paid. */
export type Route = "online" | "window" | "view_only" | "not_theirs" | "settled";

export interface Message {
    zh: string;
    en: string;
}

/** The parameters of every refusal code. */
export interface RefusalParams {
    FEATURE_NOT_AVAILABLE_IN_CITY: { cityZh: string; cityEn: string };
    BINDING_CHANNEL_NOT_SUPPORTED: { channel: Channel };
    BINDING_METHOD_NOT_ON_CHANNEL: { method: BindingMethod; channel: Channel };
    VEHICLE_IS_YOUR_OWN: Record<string, never>;
    VEHICLE_NOT_INDIVIDUAL_OWNED: { ownerKind: OwnerKind };
    PLATE_TYPE_NOT_BINDABLE: { plateType: PlateTypeCode };
    USE_NATURE_NOT_BINDABLE: { useNature: UseNature };
    ALREADY_BOUND: Record<string, never>;
    USER_BINDING_LIMIT_REACHED: { limit: number; current: number };
    VEHICLE_BINDER_LIMIT_REACHED: { limit: number; current: number };
    DAILY_APPLICATION_CAP_REACHED: { limit: number; current: number };
    YEARLY_APPLICATION_CAP_REACHED: { limit: number; current: number };
    /** `missing` is a comma-separated list of DocumentKind codes. */
    WINDOW_DOCUMENTS_NOT_CHECKED: { missing: string };
    REAL_PERSON_VERIFICATION_REQUIRED: Record<string, never>;
    /** Paid already: what the backend answers to a second payment. */
    VIOLATION_ALREADY_HANDLED: Record<string, never>;
    /** Decided and unpaid (payable online); `dueDate` is absent when the call gave no `decidedAt`. */
    VIOLATION_AWAITING_PAYMENT: { dueDate?: CstDateString; lateFeeFen: Fen };
    VEHICLE_NOT_BOUND: Record<string, never>;
    OCCURRED_BEFORE_BINDING: { effective: CstDateString };
    NOT_DEVICE_RECORDED: Record<string, never>;
    ON_SITE_TICKET: Record<string, never>;
    UNSCORED_NOT_FOR_BINDER: Record<string, never>;
    VEHICLE_NOT_SELF_SERVICE: { plateType: PlateTypeCode; ownerKind: OwnerKind; useNature: UseNature };
    FINE_ABOVE_ONLINE_LIMIT: { limitFen: Fen; fineFen: Fen };
    NO_DRIVING_LICENCE: Record<string, never>;
    LICENCE_NOT_VALID: { status: LicenceStatus };
    POINTS_CEILING_REACHED: { current: number; points: Points; ceiling: number };
    LICENCE_CLASS_NOT_COVERING: { class: LicenceClass };
    KIOSK_NEEDS_BINDING: Record<string, never>;
    BINDING_ALREADY_REMOVED: Record<string, never>;
    NOT_ALLOWED_TO_REMOVE_BINDING: Record<string, never>;
}
export type RefusalCode = keyof RefusalParams;

/** One failing rule: a stable code, its parameters and a message in Chinese and English. */
export type Reason = { [C in RefusalCode]: { code: C; params: RefusalParams[C]; message: Message } }[RefusalCode];

export interface LicenceFacts {
    class: LicenceClass;
    status: LicenceStatus;
    /** Points already scored in the current 12-month cycle. */
    points: number;
}

export interface PersonFacts {
    id: string;
    /** Real-person verification (实人认证) passed for this application. Default false. */
    identityVerified?: boolean;
    /** `null` (or absent) for a person without a driving licence. */
    licence?: LicenceFacts | null;
}

export interface VehicleFacts {
    id: string;
    plateType: PlateTypeCode;
    /** As typed (`粤s·12345` is fine); it must be valid for the plate type or the call throws. */
    plateNumber: string;
    ownerKind: OwnerKind;
    useNature: UseNature;
    /** The registered person who owns it; `null` for a unit or an owner who is not a platform user. */
    ownerId?: string | null;
    /** Six-digit city code of the registering office. */
    city?: string | null;
}

export interface BindingFacts {
    binderId: string;
    vehicleId: string;
    createdAt: Instant;
    removedAt?: Instant | null;
}

export interface ViolationFacts {
    id: string;
    vehicleId: string;
    occurredAt: Instant;
    points: Points;
    fineFen: Fen;
    source: ViolationSource;
    state: ViolationState;
    /** When the penalty decision was made; the late fee counts from it. */
    decidedAt?: Instant | null;
}

export interface BindingCall {
    binder: PersonFacts;
    vehicle: VehicleFacts;
    /** The binder's active bindings of non-owned vehicles. */
    binderBindings?: BindingFacts[];
    /** The vehicle's active bindings by non-owners. */
    vehicleBindings?: BindingFacts[];
    /** When the binder filed earlier binding applications (per-day and per-year caps). */
    applications?: Instant[];
    method: BindingMethod;
    channel: Channel;
    /** Default "precheck". */
    stage?: Stage;
    /** Originals a window officer has checked (window method only). */
    documentsChecked?: DocumentKind[];
    now: Instant;
}

export interface BindingAnswer {
    allowed: boolean;
    /** Every failing rule, not the first only. */
    reasons: Reason[];
    nextSteps: NextStep[];
    policyVersion: string;
}

export interface RouteCall {
    person: PersonFacts;
    vehicle: VehicleFacts;
    /** The person's active binding of this vehicle, if any. */
    binding?: BindingFacts | null;
    violations: ViolationFacts[];
    channel: Channel;
    now: Instant;
}

export interface ViolationRoute {
    violationId: string;
    route: Route;
    reasons: Reason[];
    /** Originals to bring when the route is the window. */
    documents: DocumentKind[];
    points: Points;
    fineFen: Fen;
    lateFeeFen: Fen;
    /** Fine plus late fee owed today; 0 when paid. */
    owedFen: Fen;
    /** The last day (China Standard Time) to pay without a late fee, once decided. */
    dueDate: CstDateString | null;
}

export interface RouteAnswer {
    routes: ViolationRoute[];
    policyVersion: string;
}

export interface UnbindCall {
    actorId: string;
    /** True for a window officer acting on the window channel. Default false. */
    actorIsOfficer?: boolean;
    binding: BindingFacts;
    vehicle: VehicleFacts;
    channel: Channel;
    now: Instant;
}

export interface UnbindAnswer {
    allowed: boolean;
    role: ActorRole;
    reasons: Reason[];
    policyVersion: string;
}

// ---- Policy (src/policy.rs) ----

export interface Policy {
    version: string;
    city: { code: string; nameZh: string; nameEn: string };
    featureEnabled: boolean;
    maxBindingsPerUser: number;
    maxBindersPerVehicle: number;
    bindablePlateTypes: PlateTypeCode[];
    bindableOwnerKinds: OwnerKind[];
    bindableUseNatures: UseNature[];
    bindingChannels: Channel[];
    maxOnlineFineFen: Fen;
    binderHandlesUnscored: boolean;
    bindingEffectiveFrom: "day" | "instant";
    pointsCeiling: number;
    requireRealPersonVerification: boolean;
    applicationCaps: { perDay: number | null; perYear: number | null };
    qrCodeLifetimeSeconds: number;
    /** Seconds an application opened by a QR or SMS code may wait for its commit. */
    applicationLifetimeSeconds: number;
    /** Plate prefixes registered in this city, e.g. "粤S". */
    platePrefixes: string[];
    kioskRequiresBinding: boolean;
    lateFee: { dueDays: number; dailyRateBasisPoints: number; capAtFine: boolean };
    sms: {
        codeLifetimeSeconds: number;
        maxWrongTries: number;
        resendCooldownSeconds: number;
        dailyCapPerPhone: number;
        dailyCapPerPlate: number;
        perSession: { perHour: number; perDay: number };
        perAccount: { perHour: number; perDay: number };
        perAddress: { perHour: number; perDay: number };
        dailyBudget: { register: number; signIn: number; binding: number };
    };
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

/** A complete policy, or one that extends the built-in default and gives only what differs. */
export type PolicyDocument = Policy | ({ extends: "default" } & DeepPartial<Policy>);

// ---- As-you-type parsers ----

export type ParseErrorCode =
| "INVALID_PLATE_TYPE"
| "PLATE_NUMBER_EMPTY" | "PLATE_UNKNOWN_PROVINCE" | "PLATE_INVALID_AUTHORITY" | "PLATE_WRONG_LENGTH"
| "PLATE_INVALID_CHARACTER" | "PLATE_INVALID_ENERGY_LETTER" | "PLATE_WRONG_SUFFIX"
| "ENGINE_SUFFIX_WRONG_LENGTH" | "ENGINE_SUFFIX_INVALID_CHARACTER"
| "RESIDENT_ID_WRONG_LENGTH" | "RESIDENT_ID_INVALID_CHARACTER" | "RESIDENT_ID_INVALID_BIRTH_DATE"
| "RESIDENT_ID_WRONG_CHECK_CHARACTER"
| "PHONE_WRONG_LENGTH" | "PHONE_INVALID_CHARACTER" | "PHONE_NOT_MOBILE";

/** Why a typed value is not valid, with a message to show beside the field. */
export interface ParseError {
    code: ParseErrorCode;
    params: { [name: string]: string | number };
    message: Message;
}

export type ParseFailure = { ok: false; error: ParseError };
/** `normal` is the form to store and compare (`粤S12345`), `display` the form to show (`粤S·12345`). */
export type PlateParse = { ok: true; normal: string; display: string; masked: string } | ParseFailure;
export type EngineSuffixParse = { ok: true; normal: string } | ParseFailure;
export type MaskedParse = { ok: true; normal: string; masked: string } | ParseFailure;

export interface PlateTypeEntry {
    code: PlateTypeCode;
    zh: string;
    en: string;
}

/** A binder's relationship to the owner (`relationships()`). */
export interface RelationshipEntry {
    code: RelationshipCode;
    zh: string;
    en: string;
}

/** An original a window officer checks (`documents()`). */
export interface DocumentEntry {
    code: DocumentKind;
    zh: string;
    en: string;
}

/** A licence's points at an instant in its scoring cycle (`scoringCycle()`). */
export interface ScoringCycle {
    points: number;
    /** The first day of the cycle running at that instant, in China Standard Time; null when none is on record. */
    cycleStart: CstDateString | null;
}



/**
 * A parsed policy, ready to answer many calls. Parse it once and keep it.
 */
export class Rules {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Many binding checks in one crossing; answers in the order of the calls.
     */
    checkBindingBatch(calls: BindingCall[]): BindingAnswer[];
    /**
     * May this person bind this vehicle, by this method, on this channel? Lists every failing rule.
     */
    checkBinding(call: BindingCall): BindingAnswer;
    /**
     * May this actor remove this binding?
     */
    checkUnbind(call: UnbindCall): UnbindAnswer;
    /**
     * The built-in national default policy: the article's rules.
     */
    static default(): Rules;
    /**
     * Parses a policy document (JSON text or an object). It may `"extends": "default"` and give only what
     * differs. Throws an `Error` naming the bad field.
     */
    static fromPolicy(policy: string | PolicyDocument): Rules;
    /**
     * The late fee in fen owed on `now` for a fine decided at `decidedAt` (3% a day after the due days,
     * never more than the fine). Instants are RFC 3339 strings or epoch milliseconds.
     */
    lateFee(fineFen: number, decidedAt: Instant, now: Instant): number;
    /**
     * The whole policy in force, as a plain object.
     */
    policy(): Policy;
    /**
     * Route calls for several vehicles in one crossing; answers in the order of the calls.
     */
    routeViolationsBatch(calls: RouteCall[]): RouteAnswer[];
    /**
     * Where may this person deal with each of these violations of one vehicle? One call labels any number
     * of violations, so a whole list costs one boundary crossing.
     */
    routeViolations(call: RouteCall): RouteAnswer;
    readonly policyVersion: string;
}

/**
 * The originals a window officer checks by hand, with their names.
 */
export function documents(): DocumentEntry[];

/**
 * Checks the last six characters of an engine number.
 */
export function parseEngineSuffix(text: string): EngineSuffixParse;

/**
 * Checks a mainland mobile number.
 */
export function parsePhone(text: string): MaskedParse;

/**
 * Checks a typed plate number against its plate type (GA 24.7 code such as `"02"`).
 */
export function parsePlate(plateType: string, text: string): PlateParse;

/**
 * Checks an 18-character resident ID number (check character and birth date).
 */
export function parseResidentId(text: string): MaskedParse;

/**
 * The whole GA 24.7 plate type table, in code order.
 */
export function plateTypes(): PlateTypeEntry[];

/**
 * What a scanned vehicle code says (plate, expiry), without checking its signature: for showing the binder
 * the plate and a countdown before asking the server.
 */
export function qrDecodePayload(text: string): QrPayloadInfo;

/**
 * The module matrix of `text`, to paint on a canvas yourself.
 */
export function qrMatrix(text: string): QrModules;

/**
 * Paints the QR code of `text` into `canvas`, `scale` pixels per module, quiet zone included: the canvas
 * is resized to the code's side, so size it on the page with CSS (`image-rendering: pixelated` keeps the
 * modules sharp). Throws like the other QR functions, before touching the canvas.
 */
export function qrPaintCanvas(canvas: QrCanvas, text: string, scale: number): void;

/**
 * The QR code of `text` as RGBA pixels, `scale` pixels per module, quiet zone included.
 */
export function qrPaintRgba(text: string, scale: number): QrImage;

/**
 * Whole seconds a vehicle code has left at `nowMs` (epoch milliseconds), rounded up; 0 once expired.
 */
export function qrSecondsLeft(text: string, nowMs: number): number;

/**
 * The QR code of `text` as an SVG document (level M, 4-module quiet zone, one unit per module).
 */
export function qrSvg(text: string): string;

/**
 * One example of every refusal a decision can give, with its code, parameters and both messages.
 */
export function reasonCatalogue(): Reason[];

/**
 * The binder's relationships to the owner, in the order a picker shows them.
 */
export function relationships(): RelationshipEntry[];

/**
 * The points of a licence at `now`: a 12-month scoring cycle that has ended starts again at zero (the
 * same count the server makes). `cycleStart` may be null when the licence has none on record.
 */
export function scoringCycle(points: number, cycleStart: Instant | null, now: Instant): ScoringCycle;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly __wbg_rules_free: (a: number, b: number) => void;
    readonly documents: () => [number, number, number];
    readonly parseEngineSuffix: (a: number, b: number) => [number, number, number];
    readonly parsePhone: (a: number, b: number) => [number, number, number];
    readonly parsePlate: (a: number, b: number, c: number, d: number) => [number, number, number];
    readonly parseResidentId: (a: number, b: number) => [number, number, number];
    readonly plateTypes: () => [number, number, number];
    readonly qrDecodePayload: (a: number, b: number) => [number, number, number];
    readonly qrMatrix: (a: number, b: number) => [number, number, number];
    readonly qrPaintCanvas: (a: any, b: number, c: number, d: number) => [number, number];
    readonly qrPaintRgba: (a: number, b: number, c: number) => [number, number, number];
    readonly qrSecondsLeft: (a: number, b: number, c: number) => [number, number, number];
    readonly qrSvg: (a: number, b: number) => [number, number, number, number];
    readonly reasonCatalogue: () => [number, number, number];
    readonly relationships: () => [number, number, number];
    readonly rules_checkBinding: (a: number, b: any) => [number, number, number];
    readonly rules_checkBindingBatch: (a: number, b: any) => [number, number, number];
    readonly rules_checkUnbind: (a: number, b: any) => [number, number, number];
    readonly rules_default: () => number;
    readonly rules_fromPolicy: (a: any) => [number, number, number];
    readonly rules_lateFee: (a: number, b: number, c: any, d: any) => [number, number, number];
    readonly rules_policy: (a: number) => [number, number, number];
    readonly rules_policyVersion: (a: number) => [number, number];
    readonly rules_routeViolations: (a: number, b: any) => [number, number, number];
    readonly rules_routeViolationsBatch: (a: number, b: any) => [number, number, number];
    readonly scoringCycle: (a: number, b: any, c: any) => [number, number, number];
    readonly __wbindgen_malloc: (a: number, b: number) => number;
    readonly __wbindgen_realloc: (a: number, b: number, c: number, d: number) => number;
    readonly __wbindgen_free: (a: number, b: number, c: number) => void;
    readonly __externref_table_alloc: () => number;
    readonly __wbindgen_externrefs: WebAssembly.Table;
    readonly __wbindgen_exn_store: (a: number) => void;
    readonly __externref_table_dealloc: (a: number) => void;
    readonly __wbindgen_start: () => void;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput }} module - Passing `SyncInitInput` directly is deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput> }} module_or_path - Passing `InitInput` directly is deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;
