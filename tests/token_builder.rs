//! The test token builder's `acr` and `amr`, as a user's route test uses
//! them: a token meets or fails a `Requirement`'s `acr_values` /
//! `require_amr` through a real verifier of the embedded issuer.
use reauth::Requirement;
use reauth::testing::TestIssuer;

#[tokio::test]
async fn acr_meets_and_fails_acr_values() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().await;
    let gold = Requirement::none().acr_values(["urn:example:gold", "urn:example:platinum"]);

    let token = issuer.token().acr("urn:example:gold").sign();
    let ok = verifier.verify(&token, &gold).await.unwrap();
    assert_eq!(ok.claims.acr.as_deref(), Some("urn:example:gold"));

    for token in [
        issuer.token().acr("urn:example:bronze").sign(),
        // No acr at all (the builder's default).
        issuer.token().sign(),
    ] {
        let err = verifier.verify(&token, &gold).await.unwrap_err();
        assert_eq!(
            (err.code(), err.status()),
            ("insufficient_authentication", 401)
        );
        assert!(
            err.www_authenticate()
                .unwrap()
                .contains("acr_values=\"urn:example:gold urn:example:platinum\""),
            "{:?}",
            err.www_authenticate()
        );
    }
}

#[tokio::test]
async fn amr_meets_and_fails_require_amr() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().await;
    let mfa = Requirement::none().require_amr(["mfa"]);

    let token = issuer.token().amr(["pwd", "mfa"]).sign();
    let ok = verifier.verify(&token, &mfa).await.unwrap();
    assert_eq!(ok.claims.amr, ["pwd", "mfa"]);

    for token in [
        issuer.token().amr(["pwd"]).sign(),
        // An empty list removes the claim, as the login builder does.
        issuer.token().amr(["mfa"]).amr(Vec::<String>::new()).sign(),
    ] {
        let err = verifier.verify(&token, &mfa).await.unwrap_err();
        assert_eq!(
            (err.code(), err.status()),
            ("insufficient_authentication", 401)
        );
    }
    assert!(
        !issuer
            .token()
            .amr(["mfa"])
            .amr(Vec::<String>::new())
            .claims()
            .contains_key("amr")
    );
}
