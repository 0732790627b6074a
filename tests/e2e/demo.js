// The people and vehicles that `renche-server serve --demo` seeds (server/src/demo.rs), as the tests use
// them. Every phone's SMS codes land in the development outbox. Each test file starts its own server, so
// every file begins from this same data.

export const DEMO = {
  // 王车主: owns 粤S12345 (already bound by 李满额 and 张绑定) and 粤SD12345, plus window-only vehicles.
  owner: {
    phone: '13900000001',
    vehicle: { plateType: '02', plateNumber: '粤S12345' },
    nev: { plateType: '52', plateNumber: '粤SD12345' },
  },
  // 张绑定 (one binding, of 粤S12345) binds 粤SD12345 with the camera.
  cameraBinder: { phone: '13900000003' },
  // 赵新人: no bindings yet; binds by QR, then by SMS up to the limit.
  binder: { phone: '13900000004', nameInitial: '赵' },
  smsVehicles: [
    { plateType: '52', plateNumber: '粤SD12345', typed: '粤s·d12345', engineSuffix: '654321', ownerPhone: '13900000001' },
    { plateType: '02', plateNumber: '粤S88888', typed: '粤 s 88888', engineSuffix: '888888', ownerPhone: '13900000007' },
    { plateType: '02', plateNumber: '粤S67890', engineSuffix: '678901', ownerPhone: '13900000008' },
  ],
  // 王车主's taxi: the page's instant check cannot see its use; the server refuses it.
  taxi: { plateType: '02', plateNumber: '粤ST2345', engineSuffix: '222222', ownerPhone: '13900000001' },
  // Window tests (their own server): 赵新人 fails real-person verification and asks for manual review.
  reviewee: { phone: '13900000004' },
  reviewVehicle: { plateType: '02', plateNumber: '粤S88888', engineSuffix: '888888', ownerPhone: '13900000007' },
  officer: { phone: '13900000010' },
  // 张绑定 (one binding, of 粤S12345) at the window, with 王车主's 粤SD12345 that he has not bound.
  windowPerson: { residentId: '441900199003030030', phone: '13900000003' },
  windowVehicle: { plateType: '52', plateNumber: '粤SD12345' },
  // 张绑定 on the kiosk.
  kioskUser: { phone: '13900000003' },
};

/** Who each demo phone's holder is, for the face check on the provider's page when the account asks for it. */
export const HOLDERS = {
  13900000001: { name: '王车主', residentId: '441900198001010015' },
  13900000002: { name: '李满额', residentId: '441900198502020027' },
  13900000003: { name: '张绑定', residentId: '441900199003030030' },
  13900000004: { name: '赵新人', residentId: '441900199504040042' },
  13900000010: { name: '刘警官', residentId: '441900197505050059' },
};
