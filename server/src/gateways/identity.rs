//! Real-person verification (实人认证) as hosted providers do it (Tencent FaceID DetectAuth → BizToken + Url,
//! Alibaba InitFaceVerify → CertifyId + CertifyUrl): the server starts a verification and gets the provider's
//! session id and page URL; the browser goes through the provider's page (camera, liveness); the provider's
//! **signed** result comes back (with the browser, and on request by the server). The signature is Ed25519
//! over the result; the seam to a real provider is its public key and an adapter that speaks the small
//! protocol below (docs/deploy.md).

use crate::store::BoxFuture;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What the server sends to start a verification.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartRequest {
    /// Our verification id: the signed result must name it.
    pub verification_id: String,
    /// `account` or `application`.
    pub purpose: String,
    pub resident_id: String,
    pub name: String,
    /// Where the provider's page sends the browser back, with `verificationId` and `result` added.
    pub return_url: String,
}

/// The provider's answer to a start: its session and the page to send the browser to.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSession {
    pub session_id: String,
    pub url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
}

/// What the provider saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultOutcome {
    Pass,
    Fail,
    NoFace,
}

impl ResultOutcome {
    pub fn code(self) -> &'static str {
        match self {
            ResultOutcome::Pass => "pass",
            ResultOutcome::Fail => "fail",
            ResultOutcome::NoFace => "no_face",
        }
    }
}

/// The signed statement of a provider about one of its sessions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultClaims {
    /// Unique per result: a result is used once.
    pub result_id: String,
    pub session_id: String,
    pub verification_id: String,
    pub resident_id: String,
    pub name: String,
    pub outcome: ResultOutcome,
    /// When the provider decided, epoch milliseconds.
    pub issued_at: i64,
    /// SHA-256 (hex) of the frame the liveness check captured.
    pub frame_sha256: String,
}

/// Why a result token was not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenProblem {
    /// Not of the form `payload.signature`, or its payload is not a result.
    Unreadable,
    /// The signature is not the provider's over this payload.
    Signature,
}

const SIGNING_CONTEXT: &[u8] = b"renche-identity-result-v1.";

/// The token of a result: `base64url(JSON claims) "." base64url(Ed25519 signature)`, the signature over
/// `renche-identity-result-v1.` followed by the first part.
pub fn sign_result(claims: &ResultClaims, key: &SigningKey) -> String {
    let json = serde_json::to_vec(claims).unwrap_or_default();
    let payload = B64.encode(json);
    let mut message = SIGNING_CONTEXT.to_vec();
    message.extend_from_slice(payload.as_bytes());
    let signature = key.sign(&message);
    format!("{payload}.{}", B64.encode(signature.to_bytes()))
}

/// The claims of a token whose signature is `key`'s.
pub fn verify_result(token: &str, key: &VerifyingKey) -> Result<ResultClaims, TokenProblem> {
    let (payload, signature) = token
        .trim()
        .split_once('.')
        .ok_or(TokenProblem::Unreadable)?;
    let sig_bytes: [u8; 64] = B64
        .decode(signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(TokenProblem::Unreadable)?;
    let mut message = SIGNING_CONTEXT.to_vec();
    message.extend_from_slice(payload.as_bytes());
    key.verify(&message, &Signature::from_bytes(&sig_bytes))
        .map_err(|_| TokenProblem::Signature)?;
    let json = B64.decode(payload).map_err(|_| TokenProblem::Unreadable)?;
    serde_json::from_slice(&json).map_err(|_| TokenProblem::Unreadable)
}

/// A public key from its 64 hex digits.
pub fn parse_public_key(hex_key: &str) -> Result<VerifyingKey, String> {
    let bytes: [u8; 32] = hex::decode(hex_key.trim())
        .map_err(|e| e.to_string())?
        .try_into()
        .map_err(|_| "an Ed25519 public key is 32 bytes (64 hex digits)".to_owned())?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| e.to_string())
}

/// A hosted real-person verification provider.
pub trait IdentityProvider: Send + Sync + 'static {
    /// Opens a session at the provider for this verification.
    fn start(&self, request: StartRequest)
        -> BoxFuture<'_, Result<ProviderSession, ProviderError>>;
    /// The signed result of one of its sessions, `None` while the person has not finished.
    fn result(&self, session_id: String) -> BoxFuture<'_, Result<Option<String>, ProviderError>>;
    /// The key its results are signed with; `None` for no provider at all.
    fn public_key(&self) -> Option<VerifyingKey>;
}

/// No provider configured: every verification is unavailable (and a binder may ask for manual review).
pub struct UnconfiguredProvider;

impl IdentityProvider for UnconfiguredProvider {
    fn start(&self, _: StartRequest) -> BoxFuture<'_, Result<ProviderSession, ProviderError>> {
        Box::pin(async {
            Err(ProviderError::Unavailable(
                "no identity provider is configured (run with --dev for the development provider)"
                    .into(),
            ))
        })
    }
    fn result(&self, _: String) -> BoxFuture<'_, Result<Option<String>, ProviderError>> {
        Box::pin(async {
            Err(ProviderError::Unavailable(
                "no identity provider is configured".into(),
            ))
        })
    }
    fn public_key(&self) -> Option<VerifyingKey> {
        None
    }
}

/// A provider reached over HTTP with the protocol of docs/deploy.md: `POST {base}/api/sessions` with a
/// `StartRequest` → `{ sessionId, url }`; `GET {base}/api/sessions/{id}/result` → `{ result }` or 404. A
/// production adapter in front of Tencent or Alibaba answers these; the development provider does too.
pub struct HttpProvider {
    base: String,
    key: VerifyingKey,
    credential: Option<String>,
    client: reqwest::Client,
}

impl HttpProvider {
    pub fn new(base: &str, key: VerifyingKey, credential: Option<String>) -> HttpProvider {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        HttpProvider {
            base: base.trim_end_matches('/').to_owned(),
            key,
            credential,
            client,
        }
    }

    fn authorized(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.credential {
            Some(c) => req.bearer_auth(c),
            None => req,
        }
    }
}

fn unavailable(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unavailable(e.to_string())
}

#[derive(Deserialize)]
struct ResultAnswer {
    result: String,
}

impl IdentityProvider for HttpProvider {
    fn start(
        &self,
        request: StartRequest,
    ) -> BoxFuture<'_, Result<ProviderSession, ProviderError>> {
        Box::pin(async move {
            let resp = self
                .authorized(self.client.post(format!("{}/api/sessions", self.base)))
                .json(&request)
                .send()
                .await
                .map_err(unavailable)?;
            if !resp.status().is_success() {
                return Err(unavailable(format!("start answered {}", resp.status())));
            }
            resp.json::<ProviderSession>().await.map_err(unavailable)
        })
    }

    fn result(&self, session_id: String) -> BoxFuture<'_, Result<Option<String>, ProviderError>> {
        Box::pin(async move {
            if session_id.is_empty() || !session_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Ok(None);
            }
            let resp = self
                .authorized(
                    self.client
                        .get(format!("{}/api/sessions/{session_id}/result", self.base)),
                )
                .send()
                .await
                .map_err(unavailable)?;
            if resp.status() == reqwest::StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !resp.status().is_success() {
                return Err(unavailable(format!("result answered {}", resp.status())));
            }
            Ok(Some(
                resp.json::<ResultAnswer>()
                    .await
                    .map_err(unavailable)?
                    .result,
            ))
        })
    }

    fn public_key(&self) -> Option<VerifyingKey> {
        Some(self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> ResultClaims {
        ResultClaims {
            result_id: "r1".into(),
            session_id: "s1".into(),
            verification_id: "v1".into(),
            resident_id: "44190019900101123X".into(),
            name: "张三".into(),
            outcome: ResultOutcome::Pass,
            issued_at: 1,
            frame_sha256: "00".into(),
        }
    }

    #[test]
    fn a_token_verifies_only_with_its_key_and_unchanged() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let other = SigningKey::from_bytes(&[8u8; 32]);
        let token = sign_result(&claims(), &key);
        assert_eq!(verify_result(&token, &key.verifying_key()), Ok(claims()));
        assert_eq!(
            verify_result(&token, &other.verifying_key()),
            Err(TokenProblem::Signature)
        );
        let (payload, sig) = token.split_once('.').unwrap();
        let mut changed = claims();
        changed.resident_id = "440000000000000000".into();
        let forged_payload = B64.encode(serde_json::to_vec(&changed).unwrap());
        assert_eq!(
            verify_result(&format!("{forged_payload}.{sig}"), &key.verifying_key()),
            Err(TokenProblem::Signature)
        );
        assert_eq!(
            verify_result(payload, &key.verifying_key()),
            Err(TokenProblem::Unreadable)
        );
    }
}
