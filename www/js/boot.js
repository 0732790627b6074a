// Starts the first API requests while the app's modules are still loading, so the answers are there
// when the app asks for them. A classic blocking script in <head>: it always runs before the deferred
// app module, so there is only ever one request that creates the session.
(function startEarlyRequests() {
  // A kiosk signs every request (js/kiosk-device.js), which the app does once it has loaded.
  var kiosk = /[?&]channel=kiosk/.test(location.search) || location.hash === '#/kiosk';
  try { kiosk = kiosk || sessionStorage.getItem('renche.channel') === 'kiosk'; } catch (e) { /* none kept */ }
  if (kiosk) return;
  var options = { credentials: 'same-origin', headers: { Accept: 'application/json' } };
  window.__rencheEarly = {
    policy: fetch('/api/v1/policy', options),
    session: fetch('/api/v1/session', options),
  };
}());
