using System.Diagnostics;
using System.Globalization;
using Vigil.Cuda;
using Vigil.Decode.Nvdec;
using Vigil.FFmpeg;

namespace Vigil.Benchmarks.Gpu;

/// <summary>
/// Decode-only NVDEC throughput: N concurrent streams, each its own thread and NvdecDecoder, fed the demuxed Annex-B
/// packets of one 1080p30 file from memory (one packet per parse call, as NvdecVideoSource does); every picture is
/// copied into a pooled NV12 surface and released at once. Decoders are created and primed before the clock starts.
/// Frames per stream: min(total, max(60, 9000 / N)) so each configuration runs a few seconds.
/// Usage: nvdec [--h264 FILE] [--hevc FILE] [--streams 1,8,32,64,150]
/// Reference ceiling (issue 3): 7 engines x 771 (H.264) / 1316 (HEVC) fps at 1860 MHz, scaled to this card's video clock.
/// </summary>
public static class NvdecBenchmark
{
    public static int Run(string[] args)
    {
        string h264 = "sample-videos/vtest-1080p.mp4", hevc = "sample-videos/vtest-1080p-hevc.mp4";
        int[] counts = [1, 8, 32, 64, 150];
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--h264") h264 = args[i + 1];
            else if (args[i] == "--hevc") hevc = args[i + 1];
            else if (args[i] == "--streams") counts = args[i + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        }
        using var ctx = CudaContext.Create(0);
        Console.WriteLine($"GPU: {ctx}");
        Console.WriteLine("| codec | streams | frames | seconds | total frames/s | per stream fps | vs ceiling |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (file, codec, ceiling) in new[] { (h264, NvdecCodec.H264, 4480.0), (hevc, NvdecCodec.Hevc, 7650.0) })
        {
            var packets = Demux(file);
            foreach (int n in counts)
            {
                var (frames, seconds) = RunStreams(ctx, codec, packets, n);
                double fps = frames / seconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {codec} | {n} | {frames} | {seconds:F2} | {fps:F0} | {fps / n:F1} | {fps / ceiling * 100:F0}% of {ceiling:F0} |"));
            }
        }
        return 0;
    }

    private static List<(byte[] Data, long Pts)> Demux(string path)
    {
        using var d = MediaDemuxer.Open(path, new DemuxerOptions { AnnexB = true });
        using var p = new DemuxedPacket();
        var list = new List<(byte[], long)>();
        while (d.Read(p) == DemuxStatus.Packet)
        {
            list.Add((p.Data.ToArray(), p.Pts));
            p.Clear();
        }
        return list;
    }

    private static (long Frames, double Seconds) RunStreams(CudaContext ctx, NvdecCodec codec, List<(byte[] Data, long Pts)> packets, int n)
    {
        int perStream = Math.Min(packets.Count, Math.Max(60, 9000 / n));
        long frames = 0;
        using var ready = new CountdownEvent(n);
        using var go = new ManualResetEventSlim();
        var errors = new List<string>();
        var threads = new Thread[n];
        for (int s = 0; s < n; s++)
        {
            threads[s] = new Thread(() =>
            {
                try
                {
                    ctx.MakeCurrent();
                    using var dec = new NvdecDecoder(ctx, codec, null, 16, 2);
                    long mine = 0;
                    void Drain()
                    {
                        while (dec.TryDequeue(out var pic))
                        {
                            pic.Buffer?.Release();
                            if (pic.Buffer is not null) mine++;
                        }
                    }
                    dec.Parse(packets[0].Data, packets[0].Pts); // creates the hardware decoder
                    ready.Signal();
                    go.Wait();
                    for (int i = 1; i < packets.Count && mine < perStream; i++)
                    {
                        dec.Parse(packets[i].Data, packets[i].Pts);
                        Drain();
                    }
                    dec.Flush();
                    Drain();
                    Interlocked.Add(ref frames, Math.Min(mine, perStream));
                }
                catch (Exception e)
                {
                    lock (errors) errors.Add(e.Message);
                    if (!ready.IsSet) ready.Signal();
                }
            }) { IsBackground = true };
            threads[s].Start();
        }
        ready.Wait();
        var sw = Stopwatch.StartNew();
        go.Set();
        foreach (var t in threads) t.Join();
        sw.Stop();
        if (errors.Count > 0) Console.WriteLine($"  {errors.Count} stream(s) failed: {errors[0]}");
        return (frames, sw.Elapsed.TotalSeconds);
    }
}
