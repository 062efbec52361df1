use std::time::Duration;

use super::Activity;

const TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test(start_paused = true)]
async fn a_connection_with_nothing_in_flight_is_idle_after_the_timeout() {
    let activity = Activity::default();
    let started = tokio::time::Instant::now();
    activity.idle_for(TIMEOUT).await;
    assert_eq!(started.elapsed(), TIMEOUT);
}

#[tokio::test(start_paused = true)]
async fn a_request_in_flight_keeps_it_busy_and_its_end_restarts_the_wait() {
    let activity = Activity::default();
    let started = tokio::time::Instant::now();
    let request = activity.enter();
    let ends = tokio::spawn(async move {
        // Held past the timeout, as an open event stream would be.
        tokio::time::sleep(TIMEOUT * 3).await;
        drop(request);
    });
    activity.idle_for(TIMEOUT).await;
    assert_eq!(started.elapsed(), TIMEOUT * 4);
    ends.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_short_request_during_the_wait_starts_it_again() {
    let activity = Activity::default();
    let started = tokio::time::Instant::now();
    let other = activity.clone();
    let asks = tokio::spawn(async move {
        tokio::time::sleep(TIMEOUT / 2).await;
        drop(other.enter());
    });
    activity.idle_for(TIMEOUT).await;
    assert_eq!(started.elapsed(), TIMEOUT / 2 + TIMEOUT);
    asks.await.unwrap();
}
