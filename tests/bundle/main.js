// What an app bundled with Vite does: import the package by name, decide instantly in the page.
import { Client, Rules, parsePlate } from "renche";

const rules = Rules.default();
const bound = (vehicleId) => ({ binderId: "u1", vehicleId, createdAt: "2026-08-01T00:00:00Z" });
const fourth = {
  binder: { id: "u1", identityVerified: true },
  vehicle: { id: "v9", plateType: "02", plateNumber: "粤S12345", ownerKind: "individual", useNature: "A" },
  binderBindings: [bound("v1"), bound("v2"), bound("v3")],
  method: "sms",
  channel: "app",
  now: "2026-09-01T07:00:00Z",
};
const answer = rules.checkBinding(fourth);
const plate = parsePlate("52", "粤sd 12345");
const result = { allowed: answer.allowed, reasons: answer.reasons, plate: plate.ok ? plate.display : null };
document.getElementById("answer").textContent = answer.reasons.map((r) => r.message.zh).join(";");
// The package's Client, bundled too: the local rules refuse the fourth binding without the network.
new Client({ baseUrl: "" }).commitBinding("1", { check: fourth }).then((outcome) => {
  result.client = [outcome.source, outcome.reasons.map((r) => r.code)];
  window.__result = result;
});
