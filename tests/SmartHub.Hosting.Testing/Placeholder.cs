namespace SmartHub.Hosting.Testing; internal static class Placeholder;
