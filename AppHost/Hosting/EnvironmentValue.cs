namespace SmartHub.Hosting;

/// <summary>
/// The value of an environment variable given to a resource: evaluated when the graph runs locally, or written as an
/// expression when the graph is published (Aspire's manifest expressions, <c>{admin-password.value}</c>), so that a
/// secret's value never reaches a published file.
/// </summary>
public abstract record EnvironmentValue
{
    /// <summary>The value, once the graph has resolved its parameters (run mode).</summary>
    public abstract string Evaluate();

    /// <summary>The value as a manifest expression (a literal is itself).</summary>
    public abstract string Expression { get; }

    /// <summary>The parameter the value comes from, if any (publishers turn it into a Secret or a parameter.v0).</summary>
    public virtual ParameterResource? Parameter => null;

    public static EnvironmentValue Literal(string value) => new LiteralValue(value);

    public static EnvironmentValue Of(ParameterResource parameter) => new ParameterValue(parameter);

    private sealed record LiteralValue(string Value) : EnvironmentValue
    {
        public override string Evaluate() => Value;

        public override string Expression => Value;
    }

    private sealed record ParameterValue(ParameterResource Source) : EnvironmentValue
    {
        public override string Evaluate() =>
            Source.Value ?? throw new InvalidOperationException($"Parameter '{Source.Name}' has no value.");

        public override string Expression => $"{{{Source.Name}.value}}";

        public override ParameterResource Parameter => Source;
    }
}
