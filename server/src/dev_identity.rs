//! The development identity provider (`--dev` only, mounted at `/dev-identity/`): a provider of its own,
//! with its own Ed25519 key, its own page that opens the camera, shows a liveness prompt and captures a
//! frame, and lets the tester say pass, fail or no face. It then signs the result and sends the browser back.
//! The server reaches it only as a provider: by URL, through `gateways::identity::HttpProvider`, checking its
//! signature with its public key. Nothing else makes a verification pass.

use crate::clock::Clock;
use crate::gateways::identity::{
    sign_result, ProviderSession, ResultClaims, ResultOutcome, StartRequest,
};
use crate::secrets::{random_hex, sha256};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use base64::Engine;
use ed25519_dalek::SigningKey;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where it is mounted.
pub const MOUNT: &str = "/dev-identity";
/// The largest frame taken.
const FRAME_LIMIT: usize = 1024 * 1024;

struct DevSession {
    request: StartRequest,
    result: Option<String>,
}

pub struct DevIdentityProvider {
    key: SigningKey,
    clock: Arc<dyn Clock>,
    sessions: Mutex<HashMap<String, DevSession>>,
}

impl DevIdentityProvider {
    pub fn new(secret: &[u8], clock: Arc<dyn Clock>) -> DevIdentityProvider {
        let mut seed = [0u8; 32];
        for (s, b) in seed.iter_mut().zip(secret.iter()) {
            *s = *b;
        }
        DevIdentityProvider {
            key: SigningKey::from_bytes(&seed),
            clock,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    pub fn public_key(&self) -> ed25519_dalek::VerifyingKey {
        self.key.verifying_key()
    }
}

type Shared = Arc<DevIdentityProvider>;

/// Its routes, to be nested at `MOUNT`.
pub fn router<S: Clone + Send + Sync + 'static>(provider: Shared) -> Router<S> {
    Router::new()
        .route("/api/sessions", axum::routing::post(start))
        .route("/api/sessions/{id}/result", get(result))
        .route("/sessions/{id}", get(page).post(answer))
        .route("/public-key", get(public_key))
        .layer(DefaultBodyLimit::max(2 * FRAME_LIMIT))
        .with_state(provider)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

async fn start(State(p): State<Shared>, Json(request): Json<StartRequest>) -> Response {
    if request.verification_id.is_empty()
        || request.resident_id.is_empty()
        || request.name.is_empty()
        || !(request.return_url.starts_with('/') || request.return_url.starts_with("http"))
    {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": "verificationId, residentId, name and returnUrl are required" })),
        )
            .into_response();
    }
    let session_id = random_hex(16);
    let url = format!("{MOUNT}/sessions/{session_id}");
    if let Ok(mut m) = p.sessions.lock() {
        m.insert(
            session_id.clone(),
            DevSession {
                request,
                result: None,
            },
        );
    }
    (
        StatusCode::CREATED,
        Json(ProviderSession { session_id, url }),
    )
        .into_response()
}

async fn result(State(p): State<Shared>, Path(id): Path<String>) -> Response {
    let found = p
        .sessions
        .lock()
        .ok()
        .and_then(|m| m.get(&id).and_then(|s| s.result.clone()));
    match found {
        Some(result) => Json(json!({ "result": result })).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({ "error": "no result" }))).into_response(),
    }
}

async fn public_key(State(p): State<Shared>) -> Json<serde_json::Value> {
    Json(json!({ "publicKey": hex::encode(p.public_key().to_bytes()) }))
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    let first = chars.next().map(String::from).unwrap_or_default();
    format!("{first}{}", "*".repeat(chars.count()))
}

fn message_page(status: StatusCode, text: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>开发用实人认证</title>\
         <body><p id=\"message\">{}</p></body></html>",
        escape(text)
    );
    (status, Html(body)).into_response()
}

async fn page(State(p): State<Shared>, Path(id): Path<String>) -> Response {
    let found = p.sessions.lock().ok().and_then(|m| {
        m.get(&id).map(|s| {
            (
                s.request.name.clone(),
                s.request.purpose.clone(),
                s.result.is_some(),
            )
        })
    });
    let Some((name, purpose, done)) = found.filter(|_| valid_id(&id)) else {
        return message_page(
            StatusCode::NOT_FOUND,
            "没有这个认证会话 / No such verification session",
        );
    };
    if done {
        return message_page(
            StatusCode::CONFLICT,
            "该认证已完成 / This verification is already answered",
        );
    }
    let html = PAGE
        .replace("{{NAME}}", &escape(&mask_name(&name)))
        .replace("{{PURPOSE}}", &escape(&purpose))
        .replace("{{ACTION}}", &format!("{MOUNT}/sessions/{id}"));
    let mut resp = Html(html).into_response();
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[derive(Deserialize)]
struct AnswerForm {
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    frame: Option<String>,
}

/// A PNG or JPEG image, by its signature and structure; the bytes of a `data:image/…;base64,` URL.
pub fn decode_frame(data_url: &str) -> Result<Vec<u8>, &'static str> {
    let (mime, b64) = data_url
        .trim()
        .strip_prefix("data:")
        .and_then(|r| r.split_once(";base64,"))
        .ok_or("the frame is not a data: URL")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| "the frame is not base64")?;
    if bytes.len() > FRAME_LIMIT {
        return Err("the frame is larger than 1 MiB");
    }
    let at = |from: usize, to: usize| bytes.get(from..to).unwrap_or(&[]);
    let n = bytes.len();
    let is_png = n >= 45
        && bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        && at(12, 16) == b"IHDR"
        && at(16, 20) != [0, 0, 0, 0]
        && at(20, 24) != [0, 0, 0, 0]
        && at(n - 8, n - 4) == b"IEND";
    let is_jpeg = bytes.len() >= 125
        && bytes.starts_with(&[0xFF, 0xD8, 0xFF])
        && bytes.ends_with(&[0xFF, 0xD9]);
    match mime {
        "image/png" if is_png => Ok(bytes),
        "image/jpeg" if is_jpeg => Ok(bytes),
        _ => Err("the frame is not a PNG or JPEG image"),
    }
}

/// `url` with the parameters added: to the fragment's own query when it has a fragment (`/#/verify?…`), else
/// to the query.
pub fn with_params(url: &str, params: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    let tail = match url.rsplit_once('#') {
        Some((_, fragment)) => fragment,
        None => url,
    };
    let sep = if tail.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", encoded.join("&"))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn answer(
    State(p): State<Shared>,
    Path(id): Path<String>,
    Form(form): Form<AnswerForm>,
) -> Response {
    let outcome = match form.outcome.as_deref() {
        Some("pass") => ResultOutcome::Pass,
        Some("fail") => ResultOutcome::Fail,
        Some("no_face") => ResultOutcome::NoFace,
        _ => {
            return message_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "请选择结果 / Choose pass, fail or no face",
            )
        }
    };
    let frame = match form.frame.as_deref().map(decode_frame) {
        Some(Ok(bytes)) => bytes,
        Some(Err(problem)) => {
            return message_page(StatusCode::UNPROCESSABLE_ENTITY, problem);
        }
        None => {
            return message_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "请先拍摄人脸画面 / Capture a frame first",
            )
        }
    };
    let now = p.clock.now().millis();
    let Ok(mut sessions) = p.sessions.lock() else {
        return message_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "provider state unavailable",
        );
    };
    let Some(session) = sessions.get_mut(&id) else {
        return message_page(
            StatusCode::NOT_FOUND,
            "没有这个认证会话 / No such verification session",
        );
    };
    if session.result.is_some() {
        return message_page(
            StatusCode::CONFLICT,
            "该认证已完成 / This verification is already answered",
        );
    }
    let claims = ResultClaims {
        result_id: random_hex(16),
        session_id: id.clone(),
        verification_id: session.request.verification_id.clone(),
        resident_id: session.request.resident_id.clone(),
        name: session.request.name.clone(),
        outcome,
        issued_at: now,
        frame_sha256: hex::encode(sha256(&[&frame])),
    };
    let token = sign_result(&claims, &p.key);
    session.result = Some(token.clone());
    let location = with_params(
        &session.request.return_url,
        &[
            ("verificationId", session.request.verification_id.as_str()),
            ("result", token.as_str()),
        ],
    );
    drop(sessions);
    tracing::info!(session = %id, outcome = outcome.code(), "development identity provider answered");
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(LOCATION, v);
    }
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

const PAGE: &str = r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>开发用实人认证 · Development identity provider</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 1rem auto; padding: 0 1rem; }
.banner { background: #fde68a; padding: .5rem; border-radius: .25rem; }
video, canvas { width: 100%; max-width: 320px; background: #111; border-radius: .5rem; }
#prompt { font-size: 1.2rem; font-weight: bold; margin: .5rem 0; }
button { font-size: 1rem; margin: .25rem; padding: .5rem 1rem; }
</style>
</head>
<body>
<p class="banner">开发用身份认证服务,并非真实认证 · Development identity provider — not a real verification</p>
<h1>实人认证 · Real-person verification</h1>
<p>认证对象 / For: <strong id="who">{{NAME}}</strong> · <span id="purpose">{{PURPOSE}}</span></p>
<p id="prompt">请正对镜头,眨眨眼,然后向左转头 · Look at the camera, blink, then turn your head left</p>
<video id="video" autoplay playsinline muted></video>
<canvas id="canvas" width="320" height="240" hidden></canvas>
<p id="camera-status">正在打开摄像头… · Opening the camera…</p>
<p><button type="button" id="capture" disabled>拍摄画面 · Capture frame</button></p>
<p><label>或选择图片 · or choose an image: <input type="file" id="file" accept="image/png,image/jpeg" capture="user"></label></p>
<form id="answer" method="post" action="{{ACTION}}">
  <input type="hidden" name="frame" id="frame">
  <p id="frame-status">尚未拍摄 · No frame yet</p>
  <button type="submit" name="outcome" value="pass" disabled>通过 · Pass</button>
  <button type="submit" name="outcome" value="fail" disabled>不通过 · Fail</button>
  <button type="submit" name="outcome" value="no_face" disabled>未检测到人脸 · No face</button>
</form>
<script>
(function () {
  var video = document.getElementById('video');
  var canvas = document.getElementById('canvas');
  var capture = document.getElementById('capture');
  var frame = document.getElementById('frame');
  var status = document.getElementById('camera-status');
  var frameStatus = document.getElementById('frame-status');
  var prompts = ['请眨眨眼 · Blink', '请向左转头 · Turn your head left', '请张张嘴 · Open your mouth'];
  var i = 0;
  function ready(dataUrl) {
    frame.value = dataUrl;
    frameStatus.textContent = '已拍摄 · Frame captured (' + Math.round(dataUrl.length / 1024) + ' KiB)';
    document.querySelectorAll('#answer button').forEach(function (b) { b.disabled = false; });
  }
  setInterval(function () {
    document.getElementById('prompt').textContent = prompts[i++ % prompts.length];
  }, 2000);
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: 'user', width: 320, height: 240 }, audio: false })
      .then(function (stream) {
        video.srcObject = stream;
        status.textContent = '摄像头已打开 · Camera on';
        capture.disabled = false;
      })
      .catch(function (e) { status.textContent = '无法打开摄像头 · Camera unavailable: ' + e.name; });
  } else {
    status.textContent = '此浏览器不支持摄像头 · No camera API in this browser';
  }
  capture.addEventListener('click', function () {
    var ctx = canvas.getContext('2d');
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    ready(canvas.toDataURL('image/jpeg', 0.8));
  });
  document.getElementById('file').addEventListener('change', function (ev) {
    var f = ev.target.files && ev.target.files[0];
    if (!f) return;
    var reader = new FileReader();
    reader.onload = function () { ready(String(reader.result)); };
    reader.readAsDataURL(f);
  });
})();
</script>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_go_to_the_query_or_the_fragment() {
        assert_eq!(with_params("/", &[("a", "1")]), "/?a=1");
        assert_eq!(with_params("/x?y=2", &[("a", "1")]), "/x?y=2&a=1");
        assert_eq!(
            with_params("/#/verify", &[("a", "1 2")]),
            "/#/verify?a=1%202"
        );
        assert_eq!(with_params("/?q#/v?b=1", &[("a", "1")]), "/?q#/v?b=1&a=1");
    }

    #[test]
    fn a_small_png_and_jpeg_are_frames() {
        let png: &[u8] = &[
            0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48,
            0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
            0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78,
            0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00,
            0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
        ];
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        assert!(decode_frame(&format!("data:image/png;base64,{}", b64(png))).is_ok());
        // A PNG is not taken as a JPEG, nor a JPEG without its end marker.
        assert!(decode_frame(&format!("data:image/jpeg;base64,{}", b64(png))).is_err());
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
        jpeg.extend(std::iter::repeat_n(0u8, 130));
        assert!(decode_frame(&format!("data:image/jpeg;base64,{}", b64(&jpeg))).is_err());
        jpeg.extend([0xFF, 0xD9]);
        assert!(decode_frame(&format!("data:image/jpeg;base64,{}", b64(&jpeg))).is_ok());
    }

    #[test]
    fn frames_must_be_images() {
        assert!(decode_frame("data:text/plain;base64,aGVsbG8=").is_err());
        assert!(decode_frame("hello").is_err());
        assert!(decode_frame("data:image/png;base64,aGVsbG8=").is_err());
    }
}
