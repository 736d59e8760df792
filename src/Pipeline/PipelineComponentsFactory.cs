using Vigil.Pipeline.Config;

namespace Vigil.Pipeline;

/// <summary>Assembles the concrete stages for a configuration (CPU path; GPU path when device: gpu).</summary>
public static class PipelineComponentsFactory
{
    public static PipelineComponents Create(PipelineConfig config) =>
        throw new VigilException("the pipeline components are assembled once decode, inference and tracking land");
}
