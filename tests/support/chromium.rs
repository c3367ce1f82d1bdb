//! A real browser for the step-up tests: headless Chromium driven through
//! WebDriver (`chromedriver` as a child process on a free loopback port).
//! Reusable by every app under test (the step-up examples, the gate behind
//! nginx): open a session, go to a URL and land where the redirects end,
//! read the cookies as the browser keeps them, and read what the browser
//! requested on the way (Chromium's performance log), e.g. the callback URL
//! the provider sent it to.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::cookies::Cookie;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

/// How to install what these tests need.
pub const INSTALL: &str = "apt-get install chromium chromium-driver";

/// The browsers chromedriver can drive, by the names distributions give
/// them (Debian: `chromium`; Ubuntu: `chromium-browser`; Google's build).
const BROWSERS: &[&str] = &["chromium", "chromium-browser", "google-chrome"];

fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The first of [`BROWSERS`] that runs.
pub fn browser_binary() -> Option<&'static str> {
    BROWSERS.iter().copied().find(|b| runs(b))
}

/// Whether `chromedriver` and a Chromium run (for the preflight check).
pub fn present() -> Result<(), String> {
    if !runs("chromedriver") {
        return Err("`chromedriver --version` cannot be run".into());
    }
    browser_binary()
        .map(|_| ())
        .ok_or_else(|| format!("none of {BROWSERS:?} runs (`--version`)"))
}

/// What the browser requested and received for documents (pages and
/// redirect hops, not images or scripts), read from Chromium's performance
/// log.
#[derive(Debug, Clone, Default)]
pub struct Navigations {
    /// Every document URL requested, redirects included, in order.
    pub requested: Vec<String>,
    /// Every document response: URL and status, redirects included.
    pub responses: Vec<(String, u16)>,
    /// Every `Set-Cookie` line of a document response.
    pub set_cookies: Vec<String>,
}

impl Navigations {
    /// The first requested URL starting with `prefix`.
    pub fn requested_url(&self, prefix: &str) -> Option<&str> {
        self.requested
            .iter()
            .map(String::as_str)
            .find(|u| u.starts_with(prefix))
    }

    /// The status of the last response for a URL starting with `prefix`.
    pub fn status_of(&self, prefix: &str) -> Option<u16> {
        self.responses
            .iter()
            .rev()
            .find(|(u, _)| u.starts_with(prefix))
            .map(|&(_, s)| s)
    }

    /// The `Set-Cookie` lines that set (not remove) a cookie whose name
    /// starts with `prefix`.
    pub fn cookies_set(&self, prefix: &str) -> Vec<&str> {
        self.set_cookies
            .iter()
            .map(String::as_str)
            .filter(|c| c.starts_with(prefix))
            .filter(|c| {
                let value = c.split(';').next().unwrap_or("");
                !value.ends_with('=') && !c.to_ascii_lowercase().contains("max-age=0")
            })
            .collect()
    }
}

/// Where a navigation ended.
#[derive(Debug, Clone)]
pub struct Landed {
    /// The final URL (after every redirect).
    pub url: String,
    /// The final document's status.
    pub status: u16,
    /// The page's visible text (`document.body.innerText`).
    pub text: String,
    /// What the browser requested on the way.
    pub hops: Navigations,
}

/// `POST /session/{id}/se/log {"type": "performance"}`: the entries of
/// Chromium's performance log since the last read (chromedriver's log
/// endpoint; WebDriver has no standard one).
#[derive(Debug)]
struct PerformanceLog;

impl WebDriverCompatibleCommand for PerformanceLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or("")))
    }

    fn method_and_body(&self, _: &url::Url) -> (hyper::Method, Option<String>) {
        (
            hyper::Method::POST,
            Some(json!({ "type": "performance" }).to_string()),
        )
    }
}

/// A headless Chromium session; quits the browser and kills chromedriver
/// (its whole process group) when dropped.
pub struct Chromium {
    client: Client,
    driver: Child,
    port: u16,
    session: String,
    profile: PathBuf,
}

impl Chromium {
    /// `Some(())` when the browser tests should run. A missing Chromium or
    /// chromedriver fails the test with the install command, unless the
    /// user opted out with `REAUTH_SKIP_BROWSER=1` (refused under CI): then
    /// the test is skipped and says so past the output capture.
    pub fn available() -> Option<()> {
        if super::skipped("REAUTH_SKIP_BROWSER", "headless Chromium and chromedriver") {
            return None;
        }
        if let Err(why) = present() {
            panic!(
                "{why}: the browser tests drive a real headless Chromium. Install it \
                 ({INSTALL}), or skip them with REAUTH_SKIP_BROWSER=1"
            );
        }
        Some(())
    }

    /// Starts chromedriver and opens a headless session with a fresh
    /// profile; `None` when skipped ([`Chromium::available`]).
    pub async fn start() -> Option<Self> {
        Self::available()?;
        let port = super::free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: the browser it starts dies with it.
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let profile =
            std::env::temp_dir().join(format!("reauth-chromium-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&profile).unwrap();
        // Owned from here: a failure below still kills chromedriver.
        let mut guard = Stopper {
            driver: Some(driver),
            profile: Some(profile),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities(guard.profile.as_ref().unwrap()))
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("no Chromium session from chromedriver: {e}"));
        let session = client.session_id().await.unwrap().unwrap();
        let (driver, profile) = (guard.driver.take().unwrap(), guard.profile.take().unwrap());
        Some(Self {
            client,
            driver,
            port,
            session,
            profile,
        })
    }

    /// The WebDriver client, for what the helpers here do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Goes to `url` as a user typing it would, follows every redirect and
    /// waits for the page to load (WebDriver's navigation waits for it: no
    /// sleeping); returns where it ended and what it requested on the way.
    pub async fn goto(&self, url: &str) -> Landed {
        self.navigations().await; // forget what came before
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("navigating to {url}: {e}"));
        let landed = self.client.current_url().await.unwrap().to_string();
        let hops = self.navigations().await;
        let status =
            hops.responses.last().map(|&(_, s)| s).unwrap_or_else(|| {
                panic!("no document response on the way to {landed}: {hops:#?}")
            });
        Landed {
            url: landed,
            status,
            text: self.text().await,
            hops,
        }
    }

    /// The visible text of the current page.
    pub async fn text(&self) -> String {
        let v = self
            .client
            .execute(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .await
            .unwrap();
        v.as_str().unwrap_or_default().to_owned()
    }

    /// Every cookie the browser sends to the current page's URL (with its
    /// flags as the browser stored them).
    pub async fn cookies(&self) -> Vec<Cookie<'static>> {
        self.client.get_all_cookies().await.unwrap()
    }

    /// The cookie `name` for the current page, if the browser has one.
    pub async fn cookie(&self, name: &str) -> Option<Cookie<'static>> {
        self.cookies().await.into_iter().find(|c| c.name() == name)
    }

    /// What the browser requested and received for documents since the
    /// last call (Chromium's performance log, read and emptied).
    pub async fn navigations(&self) -> Navigations {
        let entries = self.client.issue_cmd(PerformanceLog).await.unwrap();
        let mut out = Navigations::default();
        for entry in entries.as_array().into_iter().flatten() {
            let Some(text) = entry["message"].as_str() else {
                continue;
            };
            let Ok(event) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            let (method, params) = (&event["message"]["method"], &event["message"]["params"]);
            match method.as_str() {
                Some("Network.requestWillBeSent") if params["type"] == "Document" => {
                    if let Some(r) = params.get("redirectResponse") {
                        out.responses.push(response(r));
                    }
                    if let Some(u) = params["request"]["url"].as_str() {
                        out.requested.push(u.to_owned());
                    }
                }
                Some("Network.responseReceived") if params["type"] == "Document" => {
                    out.responses.push(response(&params["response"]));
                }
                Some("Network.responseReceivedExtraInfo") => {
                    let headers = params["headers"].as_object().into_iter().flatten();
                    for (name, value) in headers {
                        if name.eq_ignore_ascii_case("set-cookie") {
                            let lines = value.as_str().unwrap_or_default().lines();
                            out.set_cookies.extend(lines.map(str::to_owned));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }
}

fn response(r: &Value) -> (String, u16) {
    (
        r["url"].as_str().unwrap_or_default().to_owned(),
        r["status"].as_u64().unwrap_or_default() as u16,
    )
}

/// Headless, no sandbox (containers run as root), `/tmp` instead of a small
/// `/dev/shm`, a throw-away profile, and the performance log on.
fn capabilities(profile: &std::path::Path) -> serde_json::Map<String, Value> {
    let mut options = json!({
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            format!("--user-data-dir={}", profile.display()),
            "--no-first-run",
            "--no-default-browser-check",
        ],
    });
    if let Some(binary) = browser_binary() {
        options["binary"] = binary_path(binary).into();
    }
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": options,
        "goog:loggingPrefs": { "performance": "ALL" },
    });
    caps.as_object().unwrap().clone()
}

/// `program` as found on `PATH` (chromedriver wants a path).
fn binary_path(program: &str) -> String {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(program))
                .find(|p| p.is_file())
        })
        .map_or(program.to_owned(), |p| p.display().to_string())
}

/// Kills chromedriver's process group and removes the profile, unless
/// taken (a started [`Chromium`] owns them).
struct Stopper {
    driver: Option<Child>,
    profile: Option<PathBuf>,
}

impl Drop for Stopper {
    fn drop(&mut self) {
        if let Some(driver) = &mut self.driver {
            stop(driver);
        }
        if let Some(profile) = &self.profile {
            let _ = std::fs::remove_dir_all(profile);
        }
    }
}

fn stop(driver: &mut Child) {
    // The group chromedriver leads (started with process_group(0)): its id.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", driver.id())])
        .stderr(Stdio::null())
        .status();
    let _ = driver.kill();
    let _ = driver.wait();
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Quit the browser the WebDriver way first (a blocking request: drop
        // cannot await), then kill what is left.
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                s,
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                self.session, self.port
            );
            let _ = s.read_to_end(&mut Vec::new());
        }
        stop(&mut self.driver);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
