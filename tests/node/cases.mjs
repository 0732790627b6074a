// The article's cases as calls, shared by the Node tests, the type check and the benchmark-free smoke tests.
export const NOW = "2026-09-01T07:00:00Z";

export const person = (id, extra = {}) => ({
  id, identityVerified: true, licence: { class: "C1", status: "normal", points: 0 }, ...extra,
});

export const car = (id, extra = {}) => ({
  id, plateType: "02", plateNumber: "粤S12345", ownerKind: "individual", useNature: "A", ownerId: "owner-1",
  city: "441900", ...extra,
});

export const bound = (binderId, vehicleId, createdAt = "2026-08-01T02:00:00Z") => ({ binderId, vehicleId, createdAt });

export const bindingCall = (extra = {}) => ({
  binder: person("user-1"), vehicle: car("veh-1"), method: "sms", channel: "app", now: NOW, ...extra,
});

export const violation = (id, extra = {}) => ({
  id, vehicleId: "veh-1", occurredAt: "2026-08-20T03:00:00Z", points: 3, fineFen: 20_000, source: "device",
  state: "unhandled", ...extra,
});

export const routeCall = (violations, extra = {}) => ({
  person: person("user-1"), vehicle: car("veh-1"), binding: bound("user-1", "veh-1"), violations,
  channel: "app", now: NOW, ...extra,
});

/** Calls with the codes the article says they must produce. */
export const bindingCases = {
  fourthBinding: {
    call: bindingCall({ binderBindings: [bound("user-1", "veh-2"), bound("user-1", "veh-3"), bound("user-1", "veh-4")] }),
    code: "USER_BINDING_LIMIT_REACHED", params: { limit: 3, current: 3 },
  },
  fourthBinder: {
    call: bindingCall({ vehicleBindings: ["u2", "u3", "u4"].map((u) => bound(u, "veh-1")) }),
    code: "VEHICLE_BINDER_LIMIT_REACHED", params: { limit: 3, current: 3 },
  },
  taxi: { call: bindingCall({ vehicle: car("veh-1", { useNature: "D" }) }), code: "USE_NATURE_NOT_BINDABLE", params: { useNature: "D" } },
  largeCar: {
    call: bindingCall({ vehicle: car("veh-1", { plateType: "01" }) }), code: "PLATE_TYPE_NOT_BINDABLE", params: { plateType: "01" },
  },
  unitVehicle: {
    call: bindingCall({ vehicle: car("veh-1", { ownerKind: "unit", ownerId: null }) }),
    code: "VEHICLE_NOT_INDIVIDUAL_OWNED", params: { ownerKind: "unit" },
  },
};

export const routeCases = {
  beforeBinding: { call: routeCall([violation("v1", { occurredAt: "2026-07-15T03:00:00Z" })]), code: "OCCURRED_BEFORE_BINDING" },
  fineAbove200: { call: routeCall([violation("v1", { fineFen: 20_001 })]), code: "FINE_ABOVE_ONLINE_LIMIT" },
  unscored: { call: routeCall([violation("v1", { points: 0 })]), code: "UNSCORED_NOT_FOR_BINDER" },
  unbound: { call: routeCall([violation("v1")], { binding: null }), code: "VEHICLE_NOT_BOUND" },
};

export const okBinding = bindingCall();
export const okRoute = routeCall([violation("v1")]);
export const unbindCall = {
  actorId: "user-1", binding: bound("user-1", "veh-1"), vehicle: car("veh-1"), channel: "app", now: NOW,
};
