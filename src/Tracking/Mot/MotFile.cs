using System.Globalization;

namespace Vigil.Tracking.Mot;

/// <summary>One line of a MOTChallenge 2D text file: frame (1-based), id (-1 in detection files), box
/// (left, top, width, height in pixels) and column 7 (detector score, ground-truth flag, or free for tracker output).
/// Columns 8-10 (world coordinates) are read past and not kept.</summary>
public readonly record struct MotRow(int Frame, int Id, double X, double Y, double Width, double Height, double Confidence)
{
    public BoxF Box => new((float)X, (float)Y, (float)Width, (float)Height);
}

/// <summary>Reader and writer for MOTChallenge 2D text files (MOT15 "mot15-2D" layout: comma separated; tabs and
/// spaces are accepted as separators too, as py-motmetrics does).</summary>
public static class MotFile
{
    private static readonly char[] Separators = [',', '\t', ' '];

    /// <summary>Reads a file; a missing file or a malformed line raises a <see cref="VigilException"/> naming the file and line.</summary>
    public static List<MotRow> Read(string path)
    {
        if (!File.Exists(path)) throw new VigilException($"{path}: file not found");
        using var reader = new StreamReader(path);
        return Parse(reader, path);
    }

    /// <summary>Parses MOTChallenge text; <paramref name="name"/> is used in error messages.</summary>
    public static List<MotRow> Parse(TextReader reader, string name)
    {
        var rows = new List<MotRow>();
        int lineNumber = 0;
        Span<double> v = stackalloc double[7];
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var fields = line.Split(Separators, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (fields.Length < 6)
                throw new VigilException($"{name}:{lineNumber}: expected at least 6 comma-separated values (frame,id,left,top,width,height), found {fields.Length}");
            int count = Math.Min(fields.Length, 7);
            for (int i = 0; i < count; i++)
            {
                if (!double.TryParse(fields[i], NumberStyles.Float, CultureInfo.InvariantCulture, out v[i]) || !double.IsFinite(v[i]))
                    throw new VigilException($"{name}:{lineNumber}: field {i + 1} '{fields[i]}' is not a finite number");
            }
            if (count < 7) v[6] = 1;
            for (int i = 7; i < fields.Length; i++)
                if (!double.TryParse(fields[i], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                    throw new VigilException($"{name}:{lineNumber}: field {i + 1} '{fields[i]}' is not a number");
            if (v[0] != Math.Floor(v[0]) || v[0] < 0 || v[0] > int.MaxValue)
                throw new VigilException($"{name}:{lineNumber}: frame '{fields[0]}' is not a non-negative integer");
            if (v[1] != Math.Floor(v[1]) || v[1] < int.MinValue || v[1] > int.MaxValue)
                throw new VigilException($"{name}:{lineNumber}: id '{fields[1]}' is not an integer");
            if (v[4] < 0 || v[5] < 0)
                throw new VigilException($"{name}:{lineNumber}: negative box size {fields[4]} x {fields[5]}");
            rows.Add(new MotRow((int)v[0], (int)v[1], v[2], v[3], v[4], v[5], v[6]));
        }
        return rows;
    }

    /// <summary>Writes rows as <c>frame,id,left,top,width,height,conf,-1,-1,-1</c>.</summary>
    public static void Write(TextWriter writer, IEnumerable<MotRow> rows)
    {
        foreach (var r in rows)
        {
            writer.Write(string.Create(CultureInfo.InvariantCulture,
                $"{r.Frame},{r.Id},{r.X:0.###},{r.Y:0.###},{r.Width:0.###},{r.Height:0.###},{r.Confidence:0.####},-1,-1,-1"));
            writer.Write('\n');
        }
    }
}
