//! A browser-like HTTP client for the step-up tests: a cookie jar per
//! origin that honours `Path` and removals, `Origin` on form posts,
//! `Accept: text/html`, and redirects followed by hand so each hop can be
//! inspected.

use std::sync::Mutex;

use actix_web::cookie::Cookie;

/// The query parameters of `url`, in order.
pub fn query(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// `s` as a query value (application/x-www-form-urlencoded).
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// One response.
#[derive(Debug, Clone)]
pub struct Page {
    pub url: String,
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The `Location`, resolved against the page's URL.
    pub fn next(&self) -> Option<String> {
        let loc = self.location.as_deref()?;
        Some(url::Url::parse(&self.url).ok()?.join(loc).ok()?.to_string())
    }

    /// The `Set-Cookie` of `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<Cookie<'static>> {
        self.set_cookies
            .iter()
            .filter_map(|c| Cookie::parse(c.clone()).ok())
            .find(|c| c.name() == name)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Debug, Clone)]
struct Stored {
    origin: String,
    name: String,
    value: String,
    path: String,
}

pub struct Browser {
    client: reqwest::Client,
    jar: Mutex<Vec<Stored>>,
    pub accept: String,
}

fn origin(url: &url::Url) -> String {
    url.origin().ascii_serialization()
}

/// RFC 6265 §5.1.4.
fn path_matches(cookie_path: &str, request_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || request_path[cookie_path.len()..].starts_with('/')))
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: Mutex::new(Vec::new()),
            accept: "text/html,application/xhtml+xml,*/*;q=0.8".into(),
        }
    }

    /// A cookie as if a server had set it (Path=/).
    pub fn set_cookie(&self, url: &str, name: &str, value: &str) {
        let u = url::Url::parse(url).unwrap();
        let mut jar = self.jar.lock().unwrap();
        jar.retain(|c| !(c.origin == origin(&u) && c.name == name && c.path == "/"));
        jar.push(Stored {
            origin: origin(&u),
            name: name.into(),
            value: value.into(),
            path: "/".into(),
        });
    }

    /// The value of cookie `name` for `url`'s origin (any path).
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        let u = url::Url::parse(url).unwrap();
        self.jar
            .lock()
            .unwrap()
            .iter()
            .find(|c| c.origin == origin(&u) && c.name == name)
            .map(|c| c.value.clone())
    }

    /// Every cookie of `url`'s origin, as (name, value, path).
    pub fn cookies(&self, url: &str) -> Vec<(String, String, String)> {
        let u = url::Url::parse(url).unwrap();
        self.jar
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.origin == origin(&u))
            .map(|c| (c.name.clone(), c.value.clone(), c.path.clone()))
            .collect()
    }

    pub async fn get(&self, url: &str) -> Page {
        self.request(reqwest::Method::GET, url, None, None).await
    }

    /// A GET as an API client sends it (`Accept: application/json`).
    pub async fn get_json(&self, url: &str) -> Page {
        self.request(reqwest::Method::GET, url, Some("application/json"), None)
            .await
    }

    /// A form post from this page's origin.
    pub async fn post(&self, url: &str, form: &str) -> Page {
        self.request(reqwest::Method::POST, url, None, Some(form.to_owned()))
            .await
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        url: &str,
        accept: Option<&str>,
        form: Option<String>,
    ) -> Page {
        let u = url::Url::parse(url).unwrap();
        let cookie_header: Vec<String> = self
            .jar
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.origin == origin(&u) && path_matches(&c.path, u.path()))
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        let mut req = self
            .client
            .request(method, u.clone())
            .header("accept", accept.unwrap_or(&self.accept));
        if !cookie_header.is_empty() {
            req = req.header("cookie", cookie_header.join("; "));
        }
        if let Some(form) = form {
            req = req
                .header("origin", origin(&u))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let set_cookies: Vec<String> = headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        {
            let mut jar = self.jar.lock().unwrap();
            for raw in &set_cookies {
                let c = Cookie::parse(raw.clone()).unwrap();
                let path = c.path().unwrap_or("/").to_owned();
                jar.retain(|s| !(s.origin == origin(&u) && s.name == c.name() && s.path == path));
                let removed = c.max_age().is_some_and(|m| m.is_zero() || m.is_negative());
                if !removed {
                    jar.push(Stored {
                        origin: origin(&u),
                        name: c.name().to_owned(),
                        value: c.value().to_owned(),
                        path,
                    });
                }
            }
        }
        Page {
            url: url.to_owned(),
            status,
            location: headers
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned()),
            set_cookies,
            headers,
            body: resp.text().await.unwrap_or_default(),
        }
    }

    /// GETs `url` and follows redirects (at most 20); returns every page.
    pub async fn follow(&self, url: &str) -> Vec<Page> {
        let mut pages = vec![self.get(url).await];
        while let Some(next) = pages.last().unwrap().next() {
            assert!(pages.len() < 20, "redirect loop: {pages:#?}");
            pages.push(self.get(&next).await);
        }
        pages
    }
}
