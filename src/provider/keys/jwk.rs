//! One JWK's public key material, by key type (RFC 7518 §6.2-6.3, RFC
//! 8037): decoded, checked (RSA size, EC coordinates, Ed25519 small-order
//! points), parsed once for each algorithm it may verify, and its RFC 7638
//! thumbprint. Pure: the JWK's metadata (`use`, `key_ops`, `alg`) is
//! checked by the caller, [`KeySet::parse`](super::set::KeySet::parse).

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, EllipticCurveKeyParameters, OctetKeyPairParameters,
    RSAKeyParameters,
};

/// Smallest RSA modulus accepted (RFC 7518 §3.3: 2048 bits or larger).
const MIN_RSA_BITS: usize = 2048;

/// A key's parsed material: its thumbprint and a verifier per algorithm
/// allowed (possibly none: the caller says "alg does not fit").
pub(crate) struct Material {
    pub fingerprint: [u8; 32],
    pub verifiers: Vec<(Algorithm, ParsedPublicKey)>,
}

/// The key material of one JWK, for the algorithms `allowed` admits.
pub(crate) fn key_material(
    params: &AlgorithmParameters,
    allowed: &dyn Fn(Algorithm) -> bool,
) -> Result<Material, String> {
    match params {
        AlgorithmParameters::RSA(rsa) => rsa_key(rsa, allowed),
        AlgorithmParameters::EllipticCurve(ec) => ec_key(ec, allowed),
        AlgorithmParameters::OctetKeyPair(okp) => okp_key(okp, allowed),
        // RFC 8725 §3.1 and §3.2: symmetric (`oct`) keys never verify ID tokens.
        AlgorithmParameters::OctetKey(_) => Err("oct (symmetric) key".to_owned()),
        _ => Err("unsupported key type".to_owned()),
    }
}

fn b64(field: &str, value: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map_err(|_| format!("{field} is not base64url"))
}

const RSA_ALGS: [(Algorithm, &RsaParameters); 6] = [
    (Algorithm::RS256, &signature::RSA_PKCS1_2048_8192_SHA256),
    (Algorithm::RS384, &signature::RSA_PKCS1_2048_8192_SHA384),
    (Algorithm::RS512, &signature::RSA_PKCS1_2048_8192_SHA512),
    (Algorithm::PS256, &signature::RSA_PSS_2048_8192_SHA256),
    (Algorithm::PS384, &signature::RSA_PSS_2048_8192_SHA384),
    (Algorithm::PS512, &signature::RSA_PSS_2048_8192_SHA512),
];

/// RFC 7518 §6.3: an RSA key of at least [`MIN_RSA_BITS`], for each RSA
/// algorithm allowed.
fn rsa_key(
    rsa: &RSAKeyParameters,
    allowed: &dyn Fn(Algorithm) -> bool,
) -> Result<Material, String> {
    let n = b64("n", &rsa.n)?;
    let e = b64("e", &rsa.e)?;
    let n_trimmed: &[u8] = &n[n.iter().take_while(|b| **b == 0).count()..];
    let bits = n_trimmed.first().map_or(0, |first| {
        (n_trimmed.len() - 1) * 8 + (8 - first.leading_zeros() as usize)
    });
    if bits < MIN_RSA_BITS {
        return Err(format!("RSA key of {bits} bits is under {MIN_RSA_BITS}"));
    }
    let e_trimmed: &[u8] = &e[e.iter().take_while(|b| **b == 0).count()..];
    let components = RsaPublicKeyComponents {
        n: n_trimmed,
        e: e_trimmed,
    };
    let mut verifiers = Vec::new();
    for (alg, params) in RSA_ALGS {
        if allowed(alg) {
            let parsed = components
                .to_parsed_public_key(params)
                .map_err(|e| format!("RSA key rejected: {e}"))?;
            verifiers.push((alg, parsed));
        }
    }
    Ok(Material {
        fingerprint: jwk_thumbprint(&[("e", e_trimmed), ("n", n_trimmed)], "RSA", None),
        verifiers,
    })
}

/// RFC 7518 §6.2: a P-256 or P-384 point of the curve's coordinate size.
fn ec_key(
    ec: &EllipticCurveKeyParameters,
    allowed: &dyn Fn(Algorithm) -> bool,
) -> Result<Material, String> {
    let (alg, verification, size, crv): (_, &'static signature::EcdsaVerificationAlgorithm, _, _) =
        match ec.curve {
            EllipticCurve::P256 => (
                Algorithm::ES256,
                &signature::ECDSA_P256_SHA256_FIXED,
                32,
                "P-256",
            ),
            EllipticCurve::P384 => (
                Algorithm::ES384,
                &signature::ECDSA_P384_SHA384_FIXED,
                48,
                "P-384",
            ),
            ref other => return Err(format!("EC curve {other:?} is not supported")),
        };
    let (x, y) = (b64("x", &ec.x)?, b64("y", &ec.y)?);
    if x.len() != size || y.len() != size {
        return Err("EC coordinates have the wrong length".to_owned());
    }
    let fingerprint = jwk_thumbprint(&[("x", &x), ("y", &y)], "EC", Some(crv));
    let mut verifiers = Vec::new();
    if allowed(alg) {
        let mut point = Vec::with_capacity(1 + 2 * size);
        point.push(0x04);
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        let parsed = ParsedPublicKey::new(verification, point)
            .map_err(|e| format!("EC key rejected: {e}"))?;
        verifiers.push((alg, parsed));
    }
    Ok(Material {
        fingerprint,
        verifiers,
    })
}

/// RFC 8037 §2: an Ed25519 public key, refusing small-order points.
fn okp_key(
    okp: &OctetKeyPairParameters,
    allowed: &dyn Fn(Algorithm) -> bool,
) -> Result<Material, String> {
    if okp.curve != EllipticCurve::Ed25519 {
        return Err(format!("OKP curve {:?} is not supported", okp.curve));
    }
    let x = b64("x", &okp.x)?;
    if x.len() != 32 {
        return Err("Ed25519 key has the wrong length".to_owned());
    }
    // Small-order (and non-canonical) points make every signature
    // checkable against a forged R: refuse them as libsodium does.
    if is_small_order_or_noncanonical(&x) {
        return Err("Ed25519 key is a small-order or non-canonical point".to_owned());
    }
    let fingerprint = jwk_thumbprint(&[("x", &x)], "OKP", Some("Ed25519"));
    let mut verifiers = Vec::new();
    if allowed(Algorithm::EdDSA) {
        let parsed = ParsedPublicKey::new(&signature::ED25519, x)
            .map_err(|e| format!("Ed25519 key rejected: {e}"))?;
        verifiers.push((Algorithm::EdDSA, parsed));
    }
    Ok(Material {
        fingerprint,
        verifiers,
    })
}

/// RFC 7638 §3: SHA-256 over the JSON object of the key type's required
/// public members, in lexicographic order, without white space. Values are
/// the base64url of the decoded bytes (integers without leading zeros), so
/// two encodings of one key give one thumbprint.
fn jwk_thumbprint(members: &[(&str, &[u8])], kty: &str, crv: Option<&str>) -> [u8; 32] {
    // Members in RFC 7638 order: crv, e, kty, n, x, y (all names sort below).
    let mut fields: Vec<(&str, String)> = members
        .iter()
        .map(|(name, bytes)| (*name, URL_SAFE_NO_PAD.encode(bytes)))
        .collect();
    fields.push(("kty", kty.to_owned()));
    if let Some(crv) = crv {
        fields.push(("crv", crv.to_owned()));
    }
    fields.sort_by(|a, b| a.0.cmp(b.0));
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("\"{k}\":\"{v}\""))
        .collect();
    let json = format!("{{{}}}", body.join(","));
    let mut out = [0u8; 32];
    out.copy_from_slice(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, json.as_bytes()).as_ref(),
    );
    out
}

/// Encodings of the Ed25519 points of small order (1, 2, 4, 8), sign bit
/// cleared, plus the non-canonical `p` and `p + 1`: libsodium's
/// `ge25519_has_small_order` list. Seven constants do not earn a curve
/// arithmetic dependency; the test checks each one is refused.
pub(crate) const ED25519_SMALL_ORDER: [[u8; 32]; 7] = [
    // 0 (order 4)
    [0; 32],
    // 1 (order 1, the identity)
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    // order 8
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    // order 8
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
    // p - 1 (order 2)
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p (= 0, order 4)
    [
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p + 1 (= 1, order 1)
    [
        0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// True for a small-order point (in any sign) or a non-canonical `y`
/// (`y >= p`, p = 2^255 - 19).
pub(crate) fn is_small_order_or_noncanonical(x: &[u8]) -> bool {
    let mut y = [0u8; 32];
    y.copy_from_slice(x);
    y[31] &= 0x7f;
    let noncanonical = y[31] == 0x7f && y[1..31].iter().all(|b| *b == 0xff) && y[0] >= 0xed;
    noncanonical || ED25519_SMALL_ORDER.contains(&y)
}
