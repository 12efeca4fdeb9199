use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_reports_a_working_database() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "ok\n");
}

#[tokio::test]
async fn metrics_are_prometheus_text_and_count_requests() {
    let app = spawn_app().await;
    app.client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("request");
    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("body");
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(
        text.contains("# TYPE http_requests_total counter"),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_pages_get_a_404_page() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/no/such/page", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 404);
    assert!(response
        .text()
        .await
        .expect("body")
        .contains("Page not found"));
}
