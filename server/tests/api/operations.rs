use crate::helpers::spawn_app;

testkit::each_backend!(healthz_reports_a_working_database);
async fn healthz_reports_a_working_database(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    let response = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "ok\n");
}

testkit::each_backend!(metrics_are_prometheus_text_and_count_requests);
async fn metrics_are_prometheus_text_and_count_requests(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
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

testkit::each_backend!(unknown_pages_get_a_404_page);
async fn unknown_pages_get_a_404_page(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
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
