using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Vigil.Pipeline.Config;

/// <summary>One configuration problem, located in the file: "file:line:col: key: message".</summary>
public sealed record ConfigError(string File, int Line, int Column, string Key, string Message)
{
    public override string ToString() => Line > 0
        ? $"{File}:{Line}:{Column}: {Key}: {Message}"
        : $"{File}: {Key}: {Message}";
}

/// <summary>A configuration that failed validation; the message lists every error, one per line.</summary>
public sealed class ConfigException : VigilException
{
    public ConfigException(IReadOnlyList<ConfigError> errors)
        : base(string.Join(Environment.NewLine, errors.Select(e => e.ToString()))) => Errors = errors;

    public IReadOnlyList<ConfigError> Errors { get; }
}

/// <summary>
/// Reads a YAML mapping with YamlDotNet's representation model, keeping every node's position so that each
/// error names file, line and key. Keys that are read are remembered; <see cref="ReportUnknownKeys"/> flags
/// the rest (typos never pass silently). Hand-written because YamlDotNet's deserializer loses positions.
/// </summary>
internal sealed class YamlSection
{
    private readonly YamlMappingNode _node;
    private readonly HashSet<string> _known = [];
    private readonly ConfigErrors _errors;

    public YamlSection(YamlMappingNode node, string path, ConfigErrors errors)
    {
        _node = node;
        Path = path;
        _errors = errors;
    }

    public string Path { get; }
    public Mark Start => _node.Start;

    private string KeyPath(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    private YamlNode? Find(string key)
    {
        _known.Add(key);
        foreach (var (k, v) in _node.Children)
            if (k is YamlScalarNode s && s.Value == key) return v;
        return null;
    }

    public bool Has(string key) => Find(key) is not null;

    public string? String(string key, string? fallback = null, bool required = false)
    {
        var node = Find(key);
        if (node is null)
        {
            if (required) _errors.Add(_node.Start, KeyPath(key), "required key is missing");
            return fallback;
        }
        if (node is YamlScalarNode s && s.Value is not null && s.Value.Length > 0) return s.Value;
        _errors.Add(node.Start, KeyPath(key), "expected a non-empty text value");
        return fallback;
    }

    public T Enum<T>(string key, T fallback) where T : struct, Enum
    {
        var text = String(key);
        if (text is null) return fallback;
        var normalized = text.Replace("_", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal);
        if (System.Enum.TryParse<T>(normalized, ignoreCase: true, out var v) && System.Enum.IsDefined(v)) return v;
        var allowed = string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()));
        _errors.Add(Find(key)!.Start, KeyPath(key), $"'{text}' is not one of: {allowed}");
        return fallback;
    }

    public double Number(string key, double fallback, double min = double.MinValue, double max = double.MaxValue)
    {
        var node = Find(key);
        if (node is null) return fallback;
        if (node is YamlScalarNode s && double.TryParse(s.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
        {
            if (v < min || v > max)
            {
                _errors.Add(node.Start, KeyPath(key), $"{v.ToString(CultureInfo.InvariantCulture)} is out of range [{Fmt(min)}, {Fmt(max)}]");
                return fallback;
            }
            return v;
        }
        _errors.Add(node.Start, KeyPath(key), $"expected a number, got '{Describe(node)}'");
        return fallback;
    }

    public int Integer(string key, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        var node = Find(key);
        if (node is null) return fallback;
        if (node is YamlScalarNode s && int.TryParse(s.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
        {
            if (v < min || v > max)
            {
                _errors.Add(node.Start, KeyPath(key), $"{v} is out of range [{min}, {max}]");
                return fallback;
            }
            return v;
        }
        _errors.Add(node.Start, KeyPath(key), $"expected an integer, got '{Describe(node)}'");
        return fallback;
    }

    public bool Boolean(string key, bool fallback)
    {
        var node = Find(key);
        if (node is null) return fallback;
        if (node is YamlScalarNode s && s.Value is not null)
        {
            switch (s.Value.ToLowerInvariant())
            {
                case "true" or "yes" or "on": return true;
                case "false" or "no" or "off": return false;
            }
        }
        _errors.Add(node.Start, KeyPath(key), $"expected true or false, got '{Describe(node)}'");
        return fallback;
    }

    public YamlSection? Section(string key, bool required = false)
    {
        var node = Find(key);
        if (node is null)
        {
            if (required) _errors.Add(_node.Start, KeyPath(key), "required section is missing");
            return null;
        }
        if (node is YamlMappingNode m) return new YamlSection(m, KeyPath(key), _errors);
        if (node is YamlScalarNode { Value: null or "" or "~" or "null" }) return null;
        _errors.Add(node.Start, KeyPath(key), "expected a mapping (key: value lines)");
        return null;
    }

    public IReadOnlyList<YamlSection> SectionList(string key, bool required = false)
    {
        var node = Find(key);
        if (node is null)
        {
            if (required) _errors.Add(_node.Start, KeyPath(key), "required list is missing");
            return [];
        }
        if (node is not YamlSequenceNode seq)
        {
            _errors.Add(node.Start, KeyPath(key), "expected a list (lines starting with '- ')");
            return [];
        }
        var list = new List<YamlSection>();
        int i = 0;
        foreach (var item in seq.Children)
        {
            if (item is YamlMappingNode m) list.Add(new YamlSection(m, $"{KeyPath(key)}[{i}]", _errors));
            else _errors.Add(item.Start, $"{KeyPath(key)}[{i}]", "expected a mapping (key: value lines)");
            i++;
        }
        if (required && list.Count == 0) _errors.Add(node.Start, KeyPath(key), "the list is empty");
        return list;
    }

    public IReadOnlyList<string> StringList(string key)
    {
        var node = Find(key);
        if (node is null) return [];
        if (node is YamlScalarNode s && !string.IsNullOrEmpty(s.Value)) return [s.Value];
        if (node is YamlSequenceNode seq)
        {
            var list = new List<string>();
            foreach (var item in seq.Children)
            {
                if (item is YamlScalarNode si && !string.IsNullOrEmpty(si.Value)) list.Add(si.Value);
                else _errors.Add(item.Start, KeyPath(key), "expected a list of text values");
            }
            return list;
        }
        _errors.Add(node.Start, KeyPath(key), "expected a list of text values");
        return [];
    }

    public int[]? IntPair(string key)
    {
        var node = Find(key);
        if (node is null) return null;
        if (node is YamlSequenceNode { Children.Count: 2 } seq
            && seq.Children.All(c => c is YamlScalarNode sc && int.TryParse(sc.Value, CultureInfo.InvariantCulture, out var n) && n > 0))
            return seq.Children.Select(c => int.Parse(((YamlScalarNode)c).Value!, CultureInfo.InvariantCulture)).ToArray();
        _errors.Add(node.Start, KeyPath(key), "expected two positive integers, e.g. [416, 416]");
        return null;
    }

    public void Error(string key, string message) => _errors.Add((Find(key) ?? _node).Start, KeyPath(key), message);

    public void ReportUnknownKeys()
    {
        foreach (var (k, _) in _node.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? "?";
            if (!_known.Contains(name))
                _errors.Add(k.Start, KeyPath(name), $"unknown key (known keys here: {string.Join(", ", _known.Order())})");
        }
    }

    private static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode s => s.Value ?? "",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => node.NodeType.ToString(),
    };

    private static string Fmt(double d) => d switch
    {
        double.MinValue => "-inf",
        double.MaxValue => "inf",
        _ => d.ToString(CultureInfo.InvariantCulture),
    };
}

internal sealed class ConfigErrors(string file)
{
    public List<ConfigError> List { get; } = [];

    public void Add(Mark at, string key, string message) => List.Add(new ConfigError(file, (int)at.Line, (int)at.Column, key, message));

    public void Add(string key, string message) => List.Add(new ConfigError(file, 0, 0, key, message));
}
