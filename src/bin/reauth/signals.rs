//! `reauth signals stream ...`: SSF 1.0 stream management through the
//! library's [`StreamClient`]. One JSON document on stdout; exit 0 on
//! success, 1 when the transmitter refused, 2 when it could not be asked.

use std::time::Duration;

use reauth::signals::{
    Delivery, StreamClient, StreamError, actionable_event_types, event_type_uri,
};
use serde_json::{Value, json};

use crate::args::{
    CreateArgs, DeliveryMethod, SignalsArgs, SignalsCommand, StreamCommand, TransmitterArgs,
};
use crate::error::failure;

const TIMEOUT: Duration = Duration::from_secs(10);

pub async fn run(args: SignalsArgs) -> (Value, i32) {
    let SignalsCommand::Stream(command) = args.command;
    match stream(command).await {
        Ok(out) => (out, 0),
        Err((code, out)) => (out, code),
    }
}

type Failed = (i32, Value);

fn config_error(message: String) -> Failed {
    (2, failure("config_error", &message))
}

fn refused(e: StreamError) -> Failed {
    match e {
        StreamError::Status { status, body } => (
            1,
            json!({"ok": false, "error": "transmitter_refused", "status": status, "message": body}),
        ),
        StreamError::Invalid(m) => (1, failure("invalid_response", &m)),
        StreamError::NoEndpoint(m) => (
            2,
            failure("config_error", &format!("the transmitter publishes no {m}")),
        ),
        other => (2, failure("transmitter_unavailable", &other.to_string())),
    }
}

async fn client(t: &TransmitterArgs) -> Result<StreamClient, Failed> {
    let token = crate::secret::token("--token-file", &t.token_file).map_err(config_error)?;
    StreamClient::discover(&t.transmitter, token, TIMEOUT)
        .await
        .map_err(refused)
}

async fn stream(command: StreamCommand) -> Result<Value, Failed> {
    match command {
        StreamCommand::Create(a) => create(a).await,
        StreamCommand::Get(a) => {
            let c = client(&a.transmitter).await?;
            let mut out = c.get(a.stream_id.as_deref()).await.map_err(refused)?;
            match &mut out {
                Value::Array(streams) => streams.iter_mut().for_each(redact),
                one => redact(one),
            }
            Ok(out)
        }
        StreamCommand::Status(a) => {
            let c = client(&a.transmitter).await?;
            c.status(&a.stream_id).await.map_err(refused)
        }
        StreamCommand::Verify(a) => {
            let c = client(&a.stream.transmitter).await?;
            c.verify(&a.stream.stream_id, a.state.as_deref())
                .await
                .map_err(refused)?;
            Ok(
                json!({"ok": true, "stream_id": a.stream.stream_id, "state": a.state, "requested": "verification"}),
            )
        }
        StreamCommand::Delete(a) => {
            let c = client(&a.transmitter).await?;
            c.delete(&a.stream_id).await.map_err(refused)?;
            Ok(json!({"ok": true, "stream_id": a.stream_id, "deleted": true}))
        }
    }
}

async fn create(a: CreateArgs) -> Result<Value, Failed> {
    let events = if a.events.is_empty() {
        actionable_event_types()
    } else {
        a.events
            .iter()
            .map(|e| {
                if e.contains(':') {
                    Ok(e.clone())
                } else {
                    event_type_uri(e).ok_or_else(|| config_error(format!(
                        "--events: {e:?} is not an event this gate knows (a full URI is sent as it is)"
                    )))
                }
            })
            .collect::<Result<_, _>>()?
    };
    let delivery = match a.delivery {
        DeliveryMethod::Push => Delivery::Push {
            endpoint: a
                .endpoint
                .clone()
                .ok_or_else(|| config_error("--delivery push needs --endpoint URL".into()))?,
            authorization_header: match &a.push_token_file {
                Some(path) => Some(format!(
                    "Bearer {}",
                    crate::secret::token("--push-token-file", path).map_err(config_error)?
                )),
                None => None,
            },
        },
        DeliveryMethod::Poll => {
            if a.endpoint.is_some() || a.push_token_file.is_some() {
                return Err(config_error(
                    "--delivery poll takes no --endpoint or --push-token-file (the transmitter names the poll endpoint)".into(),
                ));
            }
            Delivery::Poll
        }
    };
    let c = client(&a.transmitter).await?;
    let mut stream = c
        .create(&delivery, &events, a.description.as_deref())
        .await
        .map_err(refused)?;
    redact(&mut stream);
    Ok(stream)
}

/// The push secret never goes to stdout (CI logs keep it).
fn redact(stream: &mut Value) {
    if let Some(h) = stream
        .get_mut("delivery")
        .and_then(|d| d.get_mut("authorization_header"))
    {
        *h = json!("<redacted>");
    }
}
