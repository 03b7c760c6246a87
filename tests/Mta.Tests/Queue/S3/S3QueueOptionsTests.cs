// queue_backend and queue_s3_* validation: each unusable value is refused at start, naming the parameter.
using Mta.Queue.S3;

namespace Mta.Tests.Queue.S3;

public sealed class S3QueueOptionsTests
{
    private static S3QueueOptions Valid() => new()
    {
        QueueBackend = "s3", Bucket = "mail", NodeId = "mx1.example.org", Prefix = "mta/", Region = "us-east-1",
        LeaseTimeout = TimeSpan.FromSeconds(10), LeaseRenewInterval = TimeSpan.FromSeconds(3), RequestTimeout = TimeSpan.FromSeconds(10),
    };

    [Fact]
    public void Defaults_of_the_local_backend_and_a_complete_s3_setting_are_accepted()
    {
        new S3QueueOptions { QueueBackend = "local" }.Validate();
        Valid().Validate();
    }

    [Theory]
    [InlineData("backend", "queue_backend")]
    [InlineData("bucket", "queue_s3_bucket")]
    [InlineData("node", "queue_node_id")]
    [InlineData("endpoint", "queue_s3_endpoint")]
    [InlineData("timeout", "queue_lease_timeout")]
    [InlineData("renew", "queue_lease_renew_interval")]
    [InlineData("keys", "queue_s3_access_key")]
    public void Unusable_values_are_refused_naming_the_parameter(string what, string parameter)
    {
        var o = Valid();
        switch (what)
        {
            case "backend": o.QueueBackend = "nfs"; break;
            case "bucket": o.Bucket = ""; break;
            case "node": o.NodeId = "a/b"; break;
            case "endpoint": o.Endpoint = "not a url"; break;
            case "timeout": o.LeaseTimeout = TimeSpan.FromMilliseconds(500); break;
            case "renew": o.LeaseRenewInterval = TimeSpan.FromSeconds(6); break;
            case "keys": o.AccessKey = "AKIA"; break;
        }
        var e = Assert.Throws<FormatException>(o.Validate);
        Assert.Contains(parameter, e.Message);
    }
}
