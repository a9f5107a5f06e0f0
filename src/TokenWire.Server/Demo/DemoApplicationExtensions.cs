namespace TokenWire.Server.Demo;

public static class DemoApplicationExtensions
{
    /// <summary>
    /// What a browser gets at <c>/</c>: the demo page and its endpoints (<see cref="DemoApi"/>) when
    /// <c>TokenWire:Demo:Enabled</c> (default: on in Development), else one line saying the server runs. Call after
    /// <c>MapTokenWire</c>: the page's default-file rewrite of <c>/</c> must come after the realtime endpoint has taken
    /// its WebSocket requests.
    /// </summary>
    public static WebApplication MapTokenWireDemo(this WebApplication app)
    {
        var demo = app.Configuration.GetSection(DemoOptions.SectionName).Get<DemoOptions>()?.Enabled ?? app.Environment.IsDevelopment();
        var demoPage = demo && File.Exists(Path.Combine(app.Environment.WebRootPath ?? string.Empty, "index.html"));
        if (demoPage)
        {
            // The built demo page (web/dist copied to wwwroot); "/" serves index.html once the WebSocket check passed.
            app.UseDefaultFiles();
            app.UseStaticFiles();
        }
        else
        {
            app.MapGet("/", () => Results.Text("TokenWire is running. Connect an Ably SDK with { endpoint: 'localhost', port: 8080, tls: false }.\n"));
        }

        if (demo)
        {
            app.MapDemoApi();
        }

        return app;
    }
}
