//! What the suite needs from the machine, checked all at once: every
//! missing program or module is listed with how to install it (or which
//! `REAUTH_SKIP_*` variable skips the tests that need it), instead of one
//! test failing on the first with the program's own error.

use std::path::Path;
use std::process::Command;

/// One thing the suite needs.
struct Need {
    what: &'static str,
    /// The variable that skips the tests needing it (`None`: always needed).
    skip: Option<&'static str>,
    install: &'static str,
    present: fn() -> Result<(), String>,
}

fn runs(program: &str, arg: &str) -> Result<(), String> {
    match Command::new(program).arg(arg).output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "`{program} {arg}` failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("`{program}` cannot be run: {e}")),
    }
}

/// Whether the packaged nginx has the headers-more module (the README's
/// nginx guide uses `more_clear_input_headers`): `nginx -t` on a minimal
/// configuration that loads the packaged modules and uses the directive.
pub fn nginx_headers_more() -> Result<(), String> {
    runs("nginx", "-v")?;
    let dir = std::env::temp_dir().join(format!("reauth-preflight-nginx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let d = dir.display();
    let conf = format!(
        "include /etc/nginx/modules-enabled/*.conf;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{}}\nhttp {{ access_log off; client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
         server {{ listen 127.0.0.1:1; more_clear_input_headers 'X-Reauth-*'; }} }}\n"
    );
    let file = dir.join("nginx.conf");
    std::fs::write(&file, conf).map_err(|e| e.to_string())?;
    let out = Command::new("nginx")
        .args(["-p", "/usr/share/nginx/", "-e"])
        .arg(dir.join("error.log"))
        .arg("-t")
        .arg("-c")
        .arg(&file)
        .output()
        .map_err(|e| e.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    let out = out?;
    let text = String::from_utf8_lossy(&out.stderr);
    if text.contains("unknown directive") {
        return Err(
            "nginx has no headers-more module (`more_clear_input_headers` is an unknown directive)"
                .into(),
        );
    }
    if !out.status.success() {
        return Err(format!("`nginx -t` failed: {}", text.trim()));
    }
    Ok(())
}

fn provider_fixture() -> Result<(), String> {
    runs("node", "--version")?;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/oidc-provider/node_modules/oidc-provider");
    if !fixture.exists() {
        return Err("the npm oidc-provider fixture is not installed".into());
    }
    Ok(())
}

fn chromium() -> Result<(), String> {
    #[cfg(unix)]
    return super::chromium::present();
    #[cfg(not(unix))]
    return Err("the browser tests run on unix only".into());
}

const NEEDS: &[Need] = &[
    Need {
        what: "redis-server",
        skip: Some("REAUTH_SKIP_REDIS"),
        install: "apt-get install redis-server (macOS: brew install redis)",
        present: || runs("redis-server", "--version"),
    },
    Need {
        what: "redis-cli",
        skip: Some("REAUTH_SKIP_REDIS"),
        install: "apt-get install redis-server (it ships redis-cli)",
        present: || runs("redis-cli", "--version"),
    },
    Need {
        what: "openssl (the TLS error tests)",
        skip: None,
        install: "apt-get install openssl",
        present: || runs("openssl", "version"),
    },
    Need {
        what: "nginx with the headers-more module",
        skip: Some("REAUTH_SKIP_PROXIES"),
        install: "apt-get install nginx libnginx-mod-http-headers-more-filter",
        present: nginx_headers_more,
    },
    Need {
        what: "caddy",
        skip: Some("REAUTH_SKIP_PROXIES"),
        install: "apt-get install caddy",
        present: || runs("caddy", "version"),
    },
    Need {
        what: "haproxy",
        skip: Some("REAUTH_SKIP_PROXIES"),
        install: "apt-get install haproxy",
        present: || runs("haproxy", "-v"),
    },
    Need {
        what: "Node.js and the oidc-provider fixture",
        skip: Some("REAUTH_SKIP_PROVIDER"),
        install: "apt-get install nodejs npm && npm ci --prefix tests/oidc-provider",
        present: provider_fixture,
    },
    Need {
        what: "headless Chromium and chromedriver (the browser tests)",
        skip: Some("REAUTH_SKIP_BROWSER"),
        install: "apt-get install chromium chromium-driver",
        present: chromium,
    },
];

/// Every need that is missing and not skipped, one line each with its fix.
pub fn missing() -> Vec<String> {
    let skipped = |var: &str| std::env::var(var).is_ok_and(|v| v == "1");
    NEEDS
        .iter()
        .filter(|n| !n.skip.is_some_and(skipped))
        .filter_map(|n| {
            (n.present)().err().map(|why| {
                let skip = n
                    .skip
                    .map(|v| format!("; or skip those tests with {v}=1"))
                    .unwrap_or_default();
                format!("- {}: {why}\n  install: {}{skip}", n.what, n.install)
            })
        })
        .collect()
}
