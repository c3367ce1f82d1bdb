//! Generated signing keys for the test issuer (never stored anywhere).

use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

#[derive(Clone)]
enum Material {
    Rsa(Arc<RsaKeyPair>),
    Ec(Arc<EcdsaKeyPair>),
    Ed(Arc<Ed25519KeyPair>),
}

/// A freshly generated signing key with a `kid`.
#[derive(Clone)]
pub struct TestKey {
    kid: String,
    material: Material,
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKey")
            .field("kid", &self.kid)
            .field("alg", &self.default_alg())
            .finish()
    }
}

impl TestKey {
    /// A new RSA-2048 key (RS256 by default; also signs RS384/512, PS256/384/512).
    pub fn rsa(kid: impl Into<String>) -> Self {
        let key = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        Self {
            kid: kid.into(),
            material: Material::Rsa(Arc::new(key)),
        }
    }

    /// A new EC P-256 key (ES256).
    pub fn ec(kid: impl Into<String>) -> Self {
        let key = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
            .expect("EC key generation");
        Self {
            kid: kid.into(),
            material: Material::Ec(Arc::new(key)),
        }
    }

    /// A new Ed25519 key (EdDSA).
    pub fn ed25519(kid: impl Into<String>) -> Self {
        let key = Ed25519KeyPair::generate().expect("Ed25519 key generation");
        Self {
            kid: kid.into(),
            material: Material::Ed(Arc::new(key)),
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The same key material under another `kid` (e.g. an attacker reusing a real kid).
    pub fn with_kid(&self, kid: impl Into<String>) -> Self {
        Self {
            kid: kid.into(),
            material: self.material.clone(),
        }
    }

    /// The algorithm this key signs with by default.
    pub fn default_alg(&self) -> Algorithm {
        match self.material {
            Material::Rsa(_) => Algorithm::RS256,
            Material::Ec(_) => Algorithm::ES256,
            Material::Ed(_) => Algorithm::EdDSA,
        }
    }

    /// True when this key can sign with `alg`.
    pub fn supports(&self, alg: Algorithm) -> bool {
        use Algorithm::*;
        matches!(
            (&self.material, alg),
            (
                Material::Rsa(_),
                RS256 | RS384 | RS512 | PS256 | PS384 | PS512
            ) | (Material::Ec(_), ES256)
                | (Material::Ed(_), EdDSA)
        )
    }

    /// The public JWK, with `kid`, `use: sig` and `alg` (the default algorithm).
    pub fn jwk(&self) -> Value {
        let b = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let mut jwk = match &self.material {
            Material::Rsa(k) => {
                let public = k.public_key();
                json!({
                    "kty": "RSA",
                    "n": b(public.modulus().big_endian_without_leading_zero()),
                    "e": b(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Material::Ec(k) => {
                let point = k.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "x": b(&point[1..33]), "y": b(&point[33..65])})
            }
            Material::Ed(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b(k.public_key().as_ref())})
            }
        };
        jwk["kid"] = json!(self.kid);
        jwk["use"] = json!("sig");
        jwk["alg"] = json!(format!("{:?}", self.default_alg()));
        jwk
    }

    /// The public JWK without `alg`, usable with any algorithm of its type.
    pub fn jwk_without_alg(&self) -> Value {
        let mut jwk = self.jwk();
        jwk.as_object_mut().map(|o| o.remove("alg"));
        jwk
    }

    /// Signs `message` with `alg`. Panics if the key cannot sign with `alg`.
    pub fn sign(&self, alg: Algorithm, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.material {
            Material::Rsa(k) => {
                let padding: &'static dyn signature::RsaEncoding = match alg {
                    Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
                    Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
                    Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
                    Algorithm::PS256 => &signature::RSA_PSS_SHA256,
                    Algorithm::PS384 => &signature::RSA_PSS_SHA384,
                    Algorithm::PS512 => &signature::RSA_PSS_SHA512,
                    other => panic!("an RSA key cannot sign {other:?}"),
                };
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(padding, &rng, message, &mut sig)
                    .expect("RSA signing");
                sig
            }
            Material::Ec(k) => {
                assert_eq!(alg, Algorithm::ES256, "a P-256 key signs ES256 only");
                k.sign(&rng, message)
                    .expect("ECDSA signing")
                    .as_ref()
                    .to_vec()
            }
            Material::Ed(k) => {
                assert_eq!(alg, Algorithm::EdDSA, "an Ed25519 key signs EdDSA only");
                k.sign(message).as_ref().to_vec()
            }
        }
    }
}
