//! Load figures of `agent serve`: many customers at once against the mock CRM and mail
//! service, over real HTTP on loopback, each proving who they are and reading their own
//! billing address (four requests: two messages, the link, one more message).
//!
//! ```text
//! cargo run --release --example serve_load -- [CUSTOMERS [IN_FLIGHT]]
//! ```
//!
//! Defaults: 1,000 customers, all started before the first message (so that many sessions and
//! conversations are live at once), and 64 requests in flight. Prints conversations per second
//! and the p50 and p99 latency of one request (message or link).

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leakproof::agent::{ServerOptions, router};
use leakproof::mocks::Mocks;
use leakproof::world::{Contact, Fixtures, GenerateOptions};
use serde_json::{Value, json};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

struct World {
    http: reqwest::Client,
    base: String,
    mocks: Mocks,
    contacts: Vec<Contact>,
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let customers: usize = args.next().map_or(Ok(1_000), |a| a.parse())?;
    let in_flight: usize = args.next().map_or(Ok(64), |a| a.parse())?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(customers, in_flight.max(1)))
}

async fn run(customers: usize, in_flight: usize) -> Result<()> {
    let config = leakproof::config::load_file("scenarios/configs/default.yaml")?;
    let fixtures = Fixtures::generate(7, &GenerateOptions::for_config(&config, customers));
    let contacts = fixtures.contacts.clone();
    let mocks = Mocks::start(fixtures).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let options = ServerOptions {
        default_config: Some(config),
        max_sessions: customers.max(1),
        ..ServerOptions::new(format!("{base}/").parse()?)
    };
    let app = router(options);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let world = Arc::new(World { http: reqwest::Client::new(), base, mocks, contacts });

    let began = Instant::now();
    let mut latencies = Vec::with_capacity(customers * 4);
    phase(&world, customers, in_flight, Step::Start, &mut latencies).await?;
    latencies.clear(); // Starting a session is not a message.
    for step in [Step::Ask, Step::Email, Step::Open, Step::Opened] {
        phase(&world, customers, in_flight, step, &mut latencies).await?;
    }
    let elapsed = began.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{customers} conversations ({} requests, {in_flight} in flight) in {:.2}s: {:.0} conversations/s, \
         p50 {:.2} ms, p99 {:.2} ms per request",
        latencies.len(),
        elapsed.as_secs_f64(),
        customers as f64 / elapsed.as_secs_f64(),
        ms(at(0.50)),
        ms(at(0.99)),
    );
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[derive(Clone, Copy)]
enum Step {
    Start,
    Ask,
    Email,
    Open,
    Opened,
}

async fn phase(
    world: &Arc<World>,
    customers: usize,
    in_flight: usize,
    step: Step,
    latencies: &mut Vec<Duration>,
) -> Result<()> {
    let gate = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..customers {
        let permit = Arc::clone(&gate).acquire_owned().await?;
        let world = Arc::clone(world);
        tasks.spawn(async move {
            let began = Instant::now();
            let outcome = one(&world, i, step).await;
            drop(permit);
            outcome.map(|()| began.elapsed())
        });
    }
    while let Some(done) = tasks.join_next().await {
        latencies.push(done??);
    }
    Ok(())
}

async fn one(world: &World, i: usize, step: Step) -> Result<()> {
    let contact = &world.contacts[i];
    let say = async |text: &str, now: &str| -> Result<Value> {
        let body = json!({ "conversation_id": "c", "channel": "live_chat", "text": text, "now": now });
        let url = format!("{}/v1/sessions/load-{i}/messages", world.base);
        let response = world.http.post(url).json(&body).send().await?.error_for_status()?;
        Ok(response.json().await?)
    };
    match step {
        Step::Start => {
            let body = json!({
                "session_id": format!("load-{i}"),
                "crm_base_url": world.mocks.crm.base_url(),
                "mail_base_url": world.mocks.mail.base_url(),
                "now": "2026-05-01T09:00:00Z",
            });
            world
                .http
                .post(format!("{}/v1/sessions", world.base))
                .json(&body)
                .send()
                .await?
                .error_for_status()?;
        }
        Step::Ask => drop(say("What is my billing address?", "2026-05-01T09:00:00Z").await?),
        Step::Email => drop(say(&contact.email, "2026-05-01T09:00:10Z").await?),
        Step::Open => {
            let link = world.mocks.mail.latest_link(&contact.email).ok_or("no link was mailed")?;
            let response =
                world.http.get(link).header("x-leakproof-now", "2026-05-01T09:01:00Z").send().await?;
            response.error_for_status()?;
        }
        Step::Opened => {
            let answer = say("I opened it", "2026-05-01T09:01:05Z").await?;
            let address = contact.properties.get("address").ok_or("no address")?;
            if !answer.to_string().contains(address.as_str()) {
                return Err(format!("customer {i} did not get their address: {answer}").into());
            }
        }
    }
    Ok(())
}
