using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Sim.Tests.Docs;

/// <summary>
/// A validator for the subset of JSON Schema (draft 2020-12) that docs/trace-format.schema.json uses:
/// <c>$ref</c> (local, <c>#/$defs/name</c>), <c>anyOf</c>, <c>type</c>, <c>const</c>, <c>enum</c>, <c>pattern</c>,
/// <c>minLength</c>, <c>minimum</c>, <c>maximum</c>, <c>required</c>, <c>properties</c>, <c>patternProperties</c>,
/// <c>additionalProperties</c>, <c>propertyNames</c> and <c>items</c>; annotations (<c>title</c>,
/// <c>description</c>, <c>$schema</c>, <c>$id</c>) are ignored. Any other keyword is an error, so the schema
/// cannot quietly use something this validator would not check.
/// </summary>
public sealed class JsonSchemaSubset
{
    private static readonly HashSet<string> s_keywords =
    [
        "$schema", "$id", "$defs", "$ref", "title", "description", "anyOf", "type", "const", "enum", "pattern",
        "minLength", "minimum", "maximum", "required", "properties", "patternProperties", "additionalProperties",
        "propertyNames", "items",
    ];

    private readonly JsonElement _root;
    private readonly Dictionary<string, Regex> _regexes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonElement> _refs = new(StringComparer.Ordinal);

    /// <summary>Loads the schema document; throws on a keyword outside the subset.</summary>
    public JsonSchemaSubset(JsonElement root)
    {
        _root = root;
        CheckKeywords(root, "#");
    }

    /// <summary>The errors of <paramref name="value"/> against the definition <c>#/$defs/<paramref name="def"/></c>
    /// (empty when it is valid), each with its JSON path.</summary>
    public List<string> Validate(JsonElement value, string def)
    {
        var errors = new List<string>();
        Check(Resolve("#/$defs/" + def), value, "$", errors);
        return errors;
    }

    /// <summary>The errors of <paramref name="value"/> against the root schema.</summary>
    public List<string> Validate(JsonElement value)
    {
        var errors = new List<string>();
        Check(_root, value, "$", errors);
        return errors;
    }

    private static void CheckKeywords(JsonElement schema, string where)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        foreach (var p in schema.EnumerateObject())
        {
            if (!s_keywords.Contains(p.Name))
            {
                throw new NotSupportedException($"{where}: JSON Schema keyword '{p.Name}' is not in the validated subset");
            }
            switch (p.Name)
            {
                case "$defs" or "properties" or "patternProperties":
                    foreach (var d in p.Value.EnumerateObject())
                    {
                        CheckKeywords(d.Value, $"{where}/{p.Name}/{d.Name}");
                    }
                    break;
                case "anyOf":
                    int i = 0;
                    foreach (var s in p.Value.EnumerateArray())
                    {
                        CheckKeywords(s, $"{where}/anyOf/{i++}");
                    }
                    break;
                case "items" or "additionalProperties" or "propertyNames":
                    CheckKeywords(p.Value, $"{where}/{p.Name}");
                    break;
            }
        }
    }

    private JsonElement Resolve(string reference)
    {
        if (_refs.TryGetValue(reference, out var cached))
        {
            return cached;
        }
        if (!reference.StartsWith("#/", StringComparison.Ordinal))
        {
            throw new NotSupportedException("only local references: " + reference);
        }
        var node = _root;
        foreach (var part in reference[2..].Split('/'))
        {
            if (!node.TryGetProperty(part, out node))
            {
                throw new InvalidOperationException("unresolved reference " + reference);
            }
        }
        _refs.Add(reference, node);
        return node;
    }

    private void Check(JsonElement schema, JsonElement v, string path, List<string> errors)
    {
        if (schema.ValueKind == JsonValueKind.True)
        {
            return;
        }
        if (schema.ValueKind == JsonValueKind.False)
        {
            errors.Add($"{path}: not allowed");
            return;
        }
        if (schema.TryGetProperty("$ref", out var r))
        {
            Check(Resolve(r.GetString()!), v, path, errors);
        }
        if (schema.TryGetProperty("anyOf", out var any))
        {
            var best = new List<string>();
            bool ok = false;
            foreach (var alt in any.EnumerateArray())
            {
                var e = new List<string>();
                Check(alt, v, path, e);
                if (e.Count == 0)
                {
                    ok = true;
                    break;
                }
                if (best.Count == 0 || e.Count < best.Count)
                {
                    best = e;
                }
            }
            if (!ok)
            {
                errors.Add($"{path}: matches none of anyOf (closest: {string.Join("; ", best)})");
            }
        }
        if (schema.TryGetProperty("type", out var type) && !TypeMatches(type, v))
        {
            errors.Add($"{path}: {Kind(v)} where {type.GetRawText()} is expected");
            return;
        }
        if (schema.TryGetProperty("const", out var c) && !JsonElement.DeepEquals(c, v))
        {
            errors.Add($"{path}: {v.GetRawText()} is not {c.GetRawText()}");
        }
        if (schema.TryGetProperty("enum", out var en) && !en.EnumerateArray().Any(x => JsonElement.DeepEquals(x, v)))
        {
            errors.Add($"{path}: {v.GetRawText()} is not one of {en.GetRawText()}");
        }
        switch (v.ValueKind)
        {
            case JsonValueKind.String:
                CheckString(schema, v.GetString()!, path, errors);
                break;
            case JsonValueKind.Number:
                CheckNumber(schema, v, path, errors);
                break;
            case JsonValueKind.Object:
                CheckObject(schema, v, path, errors);
                break;
            case JsonValueKind.Array when schema.TryGetProperty("items", out var items):
                int i = 0;
                foreach (var item in v.EnumerateArray())
                {
                    Check(items, item, $"{path}[{i++}]", errors);
                }
                break;
        }
    }

    private void CheckString(JsonElement schema, string s, string path, List<string> errors)
    {
        if (schema.TryGetProperty("minLength", out var min) && s.Length < min.GetInt32())
        {
            errors.Add($"{path}: shorter than {min.GetInt32()}");
        }
        if (schema.TryGetProperty("pattern", out var pat) && !Regex(pat.GetString()!).IsMatch(s))
        {
            errors.Add($"{path}: \"{s}\" does not match {pat.GetString()}");
        }
    }

    private static void CheckNumber(JsonElement schema, JsonElement v, string path, List<string> errors)
    {
        double d = v.GetDouble();
        if (schema.TryGetProperty("minimum", out var min) && d < min.GetDouble())
        {
            errors.Add($"{path}: {v.GetRawText()} is below {min.GetRawText()}");
        }
        if (schema.TryGetProperty("maximum", out var max) && d > max.GetDouble())
        {
            errors.Add($"{path}: {v.GetRawText()} is above {max.GetRawText()}");
        }
    }

    private void CheckObject(JsonElement schema, JsonElement v, string path, List<string> errors)
    {
        if (schema.TryGetProperty("required", out var req))
        {
            foreach (var name in req.EnumerateArray())
            {
                if (!v.TryGetProperty(name.GetString()!, out _))
                {
                    errors.Add($"{path}: missing \"{name.GetString()}\"");
                }
            }
        }
        bool hasProps = schema.TryGetProperty("properties", out var props);
        bool hasPatterns = schema.TryGetProperty("patternProperties", out var patterns);
        bool hasAdditional = schema.TryGetProperty("additionalProperties", out var additional);
        bool hasNames = schema.TryGetProperty("propertyNames", out var names);
        foreach (var p in v.EnumerateObject())
        {
            string at = $"{path}.{p.Name}";
            if (hasNames)
            {
                using var nameDoc = JsonDocument.Parse(JsonSerializer.Serialize(p.Name));
                Check(names, nameDoc.RootElement, at + " (name)", errors);
            }
            bool matched = false;
            if (hasProps && props.TryGetProperty(p.Name, out var ps))
            {
                matched = true;
                Check(ps, p.Value, at, errors);
            }
            if (hasPatterns)
            {
                foreach (var pp in patterns.EnumerateObject())
                {
                    if (Regex(pp.Name).IsMatch(p.Name))
                    {
                        matched = true;
                        Check(pp.Value, p.Value, at, errors);
                    }
                }
            }
            if (!matched && hasAdditional)
            {
                if (additional.ValueKind == JsonValueKind.False)
                {
                    errors.Add($"{at}: property not in the schema");
                }
                else
                {
                    Check(additional, p.Value, at, errors);
                }
            }
        }
    }

    private Regex Regex(string pattern)
    {
        if (!_regexes.TryGetValue(pattern, out var re))
        {
            re = new Regex(pattern, RegexOptions.CultureInvariant);
            _regexes.Add(pattern, re);
        }
        return re;
    }

    private static bool TypeMatches(JsonElement type, JsonElement v)
    {
        if (type.ValueKind == JsonValueKind.Array)
        {
            return type.EnumerateArray().Any(t => Is(t.GetString()!, v));
        }
        return Is(type.GetString()!, v);
    }

    private static bool Is(string type, JsonElement v) => type switch
    {
        "null" => v.ValueKind == JsonValueKind.Null,
        "boolean" => v.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "object" => v.ValueKind == JsonValueKind.Object,
        "array" => v.ValueKind == JsonValueKind.Array,
        "string" => v.ValueKind == JsonValueKind.String,
        "number" => v.ValueKind == JsonValueKind.Number,
        // An integer is a number with no fractional part (1.0 counts, as the specification says).
        "integer" => v.ValueKind == JsonValueKind.Number && (v.TryGetInt64(out _) || v.TryGetUInt64(out _)
            || Math.Floor(v.GetDouble()) == v.GetDouble()),
        _ => throw new NotSupportedException("type " + type),
    };

    private static string Kind(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Number => "number " + v.GetRawText(),
        JsonValueKind.String => "string " + Truncate(v.GetString()!),
        _ => v.ValueKind.ToString().ToLower(CultureInfo.InvariantCulture),
    };

    private static string Truncate(string s) => s.Length > 40 ? "\"" + s[..40] + "...\"" : "\"" + s + "\"";
}
