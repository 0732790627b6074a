// The people and vehicles that `renche-server serve --demo` seeds (server/src/demo.rs), as the tests use
// them. Phones receive their SMS codes in the development outbox.

export const DEMO = {
  owner: { phone: 'TODO', vehicle: { plateType: '02', plateNumber: 'TODO' } },
  binder: { phone: 'TODO' },
  smsVehicles: [],
  reviewee: { phone: 'TODO' },
  reviewVehicle: null,
  officer: { phone: 'TODO' },
  windowPerson: { residentId: 'TODO' },
  windowVehicle: null,
};
