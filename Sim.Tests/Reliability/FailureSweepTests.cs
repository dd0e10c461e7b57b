using Sim.Machine;
using Sim.Reliability;
using Sim.Core.Debug;
using Xunit;

namespace Sim.Tests.Reliability;

/// <summary>
/// The failure sweep on a fixed sample of its cases (40, drawn by the seed): every registered allocation site is reached by some
/// scenario, and for each sampled case nothing throws, nothing leaks, no page stays out of its pool and the
/// call repeated without the failure succeeds. The full sweep is <c>dmabufsim sweep</c>.
/// </summary>
public class FailureSweepTests
{
    [Fact]
    public void Sampled_sweep_has_no_leak_exception_or_state_difference_and_reaches_every_site()
    {
        var scenarios = SweepScenario.Defaults(DataLocator.FindDataDir());
        var report = FailureSweep.Run(scenarios, full: false, seed: 7, budget: null, log: null, maxCases: 40);
        var problems = report.Cases.SelectMany(c => c.Problems.Select(p => $"{c.Scenario} [{c.Site}]: {p}")).ToList();
        Assert.Empty(problems);
        var unreached = report.Sites.Where(s => !report.ReachedBy.ContainsKey(s.Name) && !s.Name.StartsWith("test:", StringComparison.Ordinal)).Select(s => s.Name).ToList();
        Assert.Empty(unreached);
        Assert.Equal(40, report.Cases.Count);
    }

    [Fact]
    public void Importer_failing_at_each_site_returns_ENOMEM_from_the_call_that_allocates()
    {
        // Each of these sites fails with -ENOMEM in Linux 6.1 and the uAPI call returns it unchanged
        // (drm_gem_handle_create_tail, dma_buf_export, dma_buf_dynamic_attach, shmem_read_mapping_page,
        // sg_alloc_table_from_pages_segment, dma_resv_reserve_fences, sync_file_create).
        var report = FailureSweep.Run([new ImporterScenario()], full: false, seed: 1, budget: null, log: null);
        var expected = new Dictionary<string, string>
        {
            ["idr_alloc:radix_tree_node_alloc"] = "MODE_CREATE_DUMB",
            ["dma_buf_getfile:alloc_anon_inode"] = "PRIME_HANDLE_TO_FD",
            ["dma_buf_getfile:alloc_file_pseudo"] = "PRIME_HANDLE_TO_FD",
            ["dma_buf_export:kzalloc"] = "PRIME_HANDLE_TO_FD",
            ["dma_buf_dynamic_attach:kzalloc"] = "PRIME_FD_TO_HANDLE",
            ["alloc_pages:fail_page_alloc"] = "PRIME_FD_TO_HANDLE",
            ["get_next_sg:sg_kmalloc"] = "PRIME_FD_TO_HANDLE",
            ["dma_resv_list_alloc:kmalloc"] = "VGEM_FENCE_ATTACH",
            ["sync_file_alloc:kzalloc"] = "DMA_BUF_IOCTL_EXPORT_SYNC_FILE",
        };
        foreach (var (site, call) in expected)
        {
            var c = Assert.Single(report.Cases, x => x.Site == site);
            Assert.True(c.Reached);
            Assert.Equal(call, c.Call);
            Assert.Equal(-12, c.Ret);
            Assert.Empty(c.Problems);
        }
    }

    [Fact]
    public void Fail_nth_sweep_of_the_importer_fails_every_call_in_turn_without_a_problem()
    {
        var report = FailureSweep.Run([new ImporterScenario()], full: true, seed: 1, budget: null, log: null);
        Assert.NotEmpty(report.Cases);
        Assert.All(report.Cases, c => Assert.True(c.Reached));
        Assert.Empty(report.Cases.SelectMany(c => c.Problems));
    }
}
